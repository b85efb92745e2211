import js from '@eslint/js';
import ts from 'typescript';
import tseslint from 'typescript-eslint';

// The Bun side: the one list is tsconfig.bun.json's `include` (Bun's types), which tsconfig.json
// excludes (test/layers.test.ts checks that the two agree).
const bunSide = ts
  .readConfigFile(`${import.meta.dirname}/tsconfig.bun.json`, (path) => ts.sys.readFile(path))
  .config.include.map((path) => (path.endsWith('.ts') ? path : `${path}/**`));

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.vitest-tmp/**',
      'tools-fixtures/**',
      'scripts/**',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: bunSide,
    languageOptions: {
      parserOptions: { projectService: false, project: './tsconfig.bun.json' },
    },
  },
);
