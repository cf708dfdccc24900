"""What path_check.py takes for a path, and when it says a path does not exist."""

import unittest

import path_check as pc

FILES = {
    "README.md", "Dockerfile", "docs/api.md", "docs/bench/run.json", "src/db/rls.rs",
    "src/db/mod.rs", "src/auth/mod.rs", "src/security.rs", "tests/api/security.rs",
    "tests/api/scale/mod.rs", "tests/api/scale/catalog.rs", "tests/api/catalog.rs",
    "clients/typescript/README.md", "clients/typescript/src/index.ts", "scripts/dev",
    "scripts/lib/build.sh", ".squawk.toml", "terraform/environments/dev.tfvars.example",
}
IGNORED = (".local", "target", "bench/results", "clients/typescript/dist",
           "terraform/environments/dev.tfvars")
REPO = pc.Repo(FILES, lambda path: path.rstrip("/").startswith(IGNORED))


def prose(word, naming="docs/api.md"):
    return pc.check_word(word, True, naming, REPO)


def code(word, naming="scripts/dev"):
    return pc.check_word(word, False, naming, REPO)


def problems(path, text):
    return [(p.line, p.path, p.why) for p in pc.check_file(path, text, REPO, lambda f: TEXTS[f])]


TEXTS = {"docs/api.md": "# API\n\n## Errors and the envelope\n\n## Errors and the envelope\n"}


class Words(unittest.TestCase):
    def test_punctuation_item_and_line_suffixes_and_possessives_are_dropped(self):
        text = "see (`src/db/rls.rs::tests::scope`), src/db/mod.rs:42, scripts/dev's banner."
        self.assertEqual(list(pc.words(text)), ["see", "src/db/rls.rs", "src/db/mod.rs", "scripts/dev", "banner"])

    def test_calls_are_not_file_names(self):
        self.assertNotIn("response.json", list(pc.words("every answer goes through response.json() first")))

    def test_table_cells_and_assignments_split(self):
        self.assertEqual(list(pc.words("| `a.rs` | PATH=src/x.rs |")), ["a.rs", "PATH", "src/x.rs"])


class NotPaths(unittest.TestCase):
    def test_urls_routes_options_and_absolute_paths(self):
        for word in ("https://example.com/src/nope.rs", "/api/v1/machines", "/tmp/live.dump",
                     "--json", "~/src/nope.rs", "mailto:a@b.md"):
            self.assertIsNone(prose(word), word)

    def test_placeholders_globs_variables_and_elisions(self):
        for word in ("{user_id}/photo.md", "tests/api/<file>.rs", "supabase/migrations/*.sql",
                     "$work/photo.rs", "src/.../nope.rs", "src/…/nope.rs", "@machinemate/api-client",
                     "cues-v1@accounts/fireworks/models/x.json", "src\\nope.rs"):
            self.assertIsNone(prose(word), word)

    def test_words_neither_under_a_top_level_folder_nor_with_a_source_extension(self):
        for word in ("helpers/", "machinemate_request", "photo.jpg", "0.9.1", "e.g", "state.env",
                     "db::query::Statements", "user-uploads/abc/photo.png"):
            self.assertIsNone(prose(word), word)


class TopLevel(unittest.TestCase):
    def test_a_path_under_a_top_level_folder_must_exist_exactly(self):
        self.assertIsNone(prose("src/db/rls.rs"))
        self.assertIsNone(prose("src/db/"))
        self.assertIsNone(prose("Dockerfile"))
        self.assertEqual(prose("src/vision/variants.rs"), "no such file or folder")
        self.assertEqual(prose("tests/api/helpers.rs"), "no such file or folder")
        self.assertEqual(prose("scripts/rollout_gate.py"), "no such file or folder")

    def test_code_is_held_to_the_top_level_rule(self):
        self.assertEqual(code("src/db/migrate.rs"), "no such file or folder")
        self.assertIsNone(code("scripts/lib/build.sh"))
        for word in ("dev.log", "nope.rs", "../nope.md", "recipe.json"):
            self.assertIsNone(code(word), word)

    def test_a_readme_in_a_subfolder_names_paths_from_its_folder(self):
        self.assertIsNone(prose("src/index.ts", "clients/typescript/README.md"))
        self.assertEqual(prose("src/nope.ts", "clients/typescript/README.md"), "no such file or folder")

    def test_what_git_ignores_is_made_at_run_time(self):
        for word in ("target/debug/machinemate-api", "bench/results/latest.json",
                     "clients/typescript/dist/index.js"):
            self.assertIsNone(prose(word), word)
        self.assertIsNone(prose(".local/dev/state.toml"))
        self.assertIsNone(prose("environments/dev.tfvars", "terraform/README.md"))


class Partial(unittest.TestCase):
    def test_a_partial_path_must_end_exactly_one_files_path(self):
        self.assertIsNone(prose("db/rls.rs"))
        self.assertIsNone(prose("rls.rs"))
        self.assertIsNone(prose(".squawk.toml"))
        self.assertEqual(prose("json.rs"), "no file's path ends so")
        self.assertEqual(prose("extract/json.rs"), "no file's path ends so")
        self.assertTrue(prose("security.rs").startswith("ambiguous (src/security.rs, tests/api/security.rs)"))
        self.assertTrue(prose("mod.rs").startswith("ambiguous"))

    def test_a_file_beside_or_above_the_naming_file_wins_over_others_of_its_name(self):
        self.assertIsNone(prose("catalog.rs", "tests/api/scale/mod.rs"))
        self.assertTrue(prose("catalog.rs", "docs/api.md").startswith("ambiguous"))
        self.assertIsNone(prose("mod.rs", "src/db/rls.rs"))

    def test_relative_paths_are_taken_from_the_naming_file(self):
        self.assertIsNone(prose("../README.md", "docs/api.md"))
        self.assertEqual(prose("../shared/legacy-database.md", "docs/api.md"), "no such file or folder")
        self.assertEqual(prose("../../shared/x.md", "docs/api.md"), "outside the repository")


class Markdown(unittest.TestCase):
    def test_fenced_blocks_are_code_and_prose_is_prose(self):
        text = ("Run `scripts/dev`; the stand-in is in `nope.rs`.\n\n"
                "```sh\nscripts/nope --photos leg_press-01.jpg\ncat missing.rs\n```\n")
        self.assertEqual(problems("README.md", text), [
            (1, "nope.rs", "no file's path ends so"),
            (4, "scripts/nope", "no such file or folder"),
        ])

    def test_link_targets_are_taken_from_the_files_folder_and_fragments_must_be_headings(self):
        text = ("A [run](bench/run.json), [the envelope](#errors-and-the-envelope-1), "
                "[gone](#nope)\nand [the API](api.md#errors-and-the-envelope), "
                "[README](../README.md#nope), [web](https://example.com/x.md).\n")
        TEXTS["README.md"] = "# MachineMate API\n"
        self.assertEqual(problems("docs/api.md", text), [
            (1, "#nope", "no such heading"),
            (2, "../README.md#nope", "no such heading"),
        ])

    def test_link_targets_outside_the_repository_are_refused(self):
        self.assertEqual(problems("docs/api.md", "[x](../../shared/design.md)\n"),
                         [(1, "../../shared/design.md", "outside the repository")])

    def test_table_cells_and_line_numbers(self):
        text = "# T\n\n| path | what |\n|---|---|\n| `src/db/rls.rs` | ok |\n| `src/db/gone.rs` | stale |\n"
        self.assertEqual(problems("docs/api.md", text), [(6, "src/db/gone.rs", "no such file or folder")])

    def test_slugs_are_githubs(self):
        self.assertEqual(pc.slug("Prompt variants and what each one earns"),
                         "prompt-variants-and-what-each-one-earns")
        self.assertEqual(pc.slug("`migrate --check`: the cutover itself, rolled back"),
                         "migrate---check-the-cutover-itself-rolled-back")
        self.assertEqual(pc.anchors("# A\n## `b` c\n## B C\n"), {"a", "b-c", "b-c-1"})


class Comments(unittest.TestCase):
    def test_rust_comments_are_prose_and_rust_code_is_not_read(self):
        text = ('let url = "http://host/src/gone.rs"; // see src/db/rls.rs and gone.rs\n'
                'let p = "src/also_gone.rs";\n/// `src/error.rs`\n')
        self.assertEqual(problems("src/db/mod.rs", text), [
            (1, "gone.rs", "no file's path ends so"),
            (3, "src/error.rs", "no such file or folder"),
        ])

    def test_sql_comments_skip_quoted_dashes(self):
        text = "select '--src/gone.sql' as x; -- from src/db/gone.rs\n"
        self.assertEqual(problems("supabase/seed.sql", text), [(1, "src/db/gone.rs", "no such file or folder")])

    def test_scripts_are_read_whole_comments_as_prose(self):
        text = ('# writes dev.log beside tests/api/helpers.rs\n'
                'echo "$#" >"$work/dev.log"; source scripts/lib/gone.sh # gone.py\n')
        self.assertEqual(problems("scripts/dev", text), [
            (1, "tests/api/helpers.rs", "no such file or folder"),
            (2, "scripts/lib/gone.sh", "no such file or folder"),
            (2, "gone.py", "no file's path ends so"),
        ])

    def test_what_is_read(self):
        for path in ("README.md", "docs/api.md", "scripts/dev", ".ci/run", "Dockerfile", "src/db/rls.rs",
                     "tests/api/catalog.rs", "terraform/main.tf", "bench/run", ".github/workflows/ci.yml"):
            self.assertTrue(pc.in_scope(path), path)
        for path in ("Cargo.lock", "clients/typescript/src/schema.d.ts", "tests/snapshots/openapi.json",
                     "clients/typescript/package-lock.json", "CHANGELOG.md"):
            self.assertFalse(pc.in_scope(path), path)


if __name__ == "__main__":
    unittest.main()
