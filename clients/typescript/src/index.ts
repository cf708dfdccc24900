// A typed client for the MachineMate API.
//
// `schema.d.ts` is generated from the service's OpenAPI document
// (tests/snapshots/openapi.json) by `scripts/gen-client`; never edit it by hand.
// `scripts/check-infra` fails when it no longer matches the document.
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, operations, paths } from "./schema";

export type { components, operations, paths };

/** Every named schema of the API, e.g. `Schemas["Machine"]`. */
export type Schemas = components["schemas"];

export type MachineMateClient = Client<paths>;

export interface MachineMateClientOptions {
  /** The service's origin, e.g. `https://machinemate-api-xyz-uc.a.run.app`. */
  baseUrl: string;
  /**
   * The signed-in user's Supabase access token, asked for before each request
   * (so a refreshed session is picked up). Return `undefined` when signed out.
   */
  getAccessToken?: () => string | undefined | Promise<string | undefined>;
  /** A fetch implementation other than the global one. */
  fetch?: typeof globalThis.fetch;
}

/**
 * One line for people from an error answer: its `detail` message, or, for invalid input
 * (422, where `detail` is a list of issues), each issue as `location: message`.
 */
export function errorMessage(error: Schemas["ErrorBody"]): string {
  const { detail } = error;
  if (typeof detail === "string") return detail;
  return detail.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; ");
}

/** Creates a client whose paths, parameters, bodies and answers are typed. */
export function createMachineMateClient(
  options: MachineMateClientOptions,
): MachineMateClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const getAccessToken = options.getAccessToken;
  if (getAccessToken) {
    const bearer: Middleware = {
      async onRequest({ request }) {
        const token = await getAccessToken();
        if (token && !request.headers.has("Authorization")) {
          request.headers.set("Authorization", `Bearer ${token}`);
        }
        return request;
      },
    };
    client.use(bearer);
  }
  return client;
}

/**
 * Identifies the machine in a photo (JPEG or PNG, at most 10 MB) through
 * `POST /api/v1/identify`, whose answer carries the machine's catalog id and the closest
 * candidates besides its name and confidence. (`POST /identify`, which the shipped app
 * calls, answers only the four keys the app's strict schema accepts.)
 */
export function identifyPhoto(api: MachineMateClient, photo: Blob) {
  return api.POST("/api/v1/identify", {
    // The document types the multipart field as a binary string; the form carries the
    // photo itself.
    body: { image: "" },
    bodySerializer() {
      const form = new FormData();
      form.append("image", photo, "photo.jpg");
      return form;
    },
  });
}
