// Returns after an await, with the config it was given.
export default async function okAsync(
  input: unknown,
  context: { config: unknown; toolId: string },
) {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { input, config: context.config, toolId: context.toolId };
}
