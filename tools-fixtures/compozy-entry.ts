// A Compozy-style entry: an object of tools keyed by id.
export default {
  weather: (input: { city?: string }) => ({ city: input?.city ?? 'Paris', forecast: 'sunny' }),
  time: () => ({ iso: new Date(0).toISOString() }),
};
