/** Router addresses from `--router a,b` or ROOMQ_ROUTER, else the local cluster's default. */
export const DEFAULT_ROUTER = '127.0.0.1:9876';

export function routerList(option: string | undefined): string[] {
  const text = option ?? process.env['ROOMQ_ROUTER'] ?? DEFAULT_ROUTER;
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export const routerOption = { router: { type: 'string' as const } };
