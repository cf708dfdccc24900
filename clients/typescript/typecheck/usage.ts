// Compiled by `npm run typecheck` (never shipped): shows the generated types and the
// wrapper fit together, so a broken generation or an incompatible openapi-fetch
// fails the check instead of the app's build.
import { createMachineMateClient, errorMessage, identifyPhoto, type Schemas } from "../src/index";

export async function machineName(id: string): Promise<string | undefined> {
  const api = createMachineMateClient({
    baseUrl: "http://localhost:8080",
    getAccessToken: () => undefined,
  });
  const { data, error } = await api.GET("/api/v1/machines/{machine_id}", {
    params: { path: { machine_id: id } },
  });
  if (error) {
    const detail: Schemas["ErrorBody"]["detail"] = error.detail;
    const line: string = errorMessage(error);
    void detail;
    void line;
    return undefined;
  }
  const machine: Schemas["Machine"] = data;
  return machine.name;
}

export async function ready(): Promise<boolean> {
  const api = createMachineMateClient({ baseUrl: "http://localhost:8080/" });
  const { data } = await api.GET("/health/ready");
  return data?.ready ?? false;
}

export async function identifiedMachineId(photo: Blob): Promise<string | undefined> {
  const api = createMachineMateClient({ baseUrl: "http://localhost:8080" });
  const { data } = await identifyPhoto(api, photo);
  const answer: Schemas["Identification"] | undefined = data;
  const closest: Schemas["Candidate"][] = answer?.candidates ?? [];
  return answer?.machine_id ?? closest[0]?.machine_id;
}
