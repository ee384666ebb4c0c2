import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "**/dist/**", ".tally/**", ".scratch/**", "bench/results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The dashboard's browser modules, served as they are (no bundler): browser globals.
    files: ["packages/node/src/http/dashboard/assets/**/*.js"],
    languageOptions: {
      globals: Object.fromEntries(
        [
          ...["document", "location", "history", "fetch", "EventSource", "FormData", "URL", "URLSearchParams"],
          ...["Option", "Node", "ResizeObserver", "setTimeout", "clearTimeout"],
        ].map((name) => [name, "readonly"]),
      ),
    },
  },
);
