import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // The Bun side is typed by tsconfig.bun.json (Bun's types), which tsconfig.json excludes.
    files: [
      'src/runtime/worker/**',
      'src/runtime/launcher/**',
      'src/bundling/bun-compiler.ts',
      'bench/bare-worker.ts',
      'bench/handwritten.ts',
    ],
    languageOptions: {
      parserOptions: { projectService: false, project: './tsconfig.bun.json' },
    },
  },
);
