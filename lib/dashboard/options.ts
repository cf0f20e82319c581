// tasksDashboard() options: their types, and the one table that checks them.
import { checkBoolean, checkFunction, invalid, type OptionTable, parseWithTable } from '../check.js';
import type { SkipRequest, SkipResponse } from '../options.js';

/** The request as authorize() sees it: Node's, with the Express properties a check reads (Express's own types fit too). */
export type DashboardRequest = SkipRequest;
/** The response as authorize() sees it, for one that answers itself (a 401 with a `WWW-Authenticate` challenge). */
export type DashboardResponse = SkipResponse;

/**
 * Decides whether a request may see the dashboard: return `true` (or a promise of `true`) to allow; anything else
 * denies it with a 403 and no data, unless authorize() answered the request itself. A throw or a rejection goes to
 * the app's error handler (`next(error)`). Called for every request: the page, its assets, its stream, its actions.
 */
export type Authorize = { bivariant(req: DashboardRequest, res: DashboardResponse): boolean | Promise<boolean> }['bivariant'];

interface CommonOptions {
  /** Show the retry (failed queued job) and abort (running task) buttons, and accept them. Default false. */
  readonly actions?: boolean;
}

/** Who may see it: `authorize` (required), or `allowAnyone: true` said explicitly (local development only). */
export type TasksDashboardOptions = CommonOptions &
  ({ readonly authorize: Authorize; readonly allowAnyone?: false } | { readonly allowAnyone: true; readonly authorize?: undefined });

export interface DashboardSettings {
  /** undefined: anyone may see it (allowAnyone). */
  readonly authorize: Authorize | undefined;
  readonly allowAnyone: boolean;
  readonly actions: boolean;
}

const WHERE = 'tasksDashboard(middleware, options)';

const TABLE: OptionTable<DashboardSettings> = {
  authorize: (value) => checkFunction<Authorize | undefined>(WHERE, 'authorize', value, { fallback: undefined }),
  allowAnyone: (value) => checkBoolean(WHERE, 'allowAnyone', value, { fallback: false }),
  actions: (value) => checkBoolean(WHERE, 'actions', value, { fallback: false }),
};

export function parseDashboardOptions(options: unknown): DashboardSettings {
  if (options === undefined) invalid(`${WHERE}: options are required: pass { authorize(req) { ... } } (see the README's "Dashboard")`);
  const settings = parseWithTable(WHERE, options, TABLE);
  if (settings.authorize === undefined && !settings.allowAnyone) {
    invalid(
      `${WHERE}: option "authorize" is required: a function (req, res) that returns true (or a promise of true) for who may ` +
        'see the dashboard; pass { allowAnyone: true } instead only where anyone who can reach the app may see it (local development)',
    );
  }
  if (settings.authorize !== undefined && settings.allowAnyone) {
    invalid(`${WHERE}: options "authorize" and "allowAnyone: true" contradict each other; pass one of them`);
  }
  return settings;
}
