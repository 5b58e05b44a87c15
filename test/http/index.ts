import { accessScenarios } from "./access.js";
import { injectionScenarios } from "./injection.js";
import type { MatrixContext } from "./matrix.js";
import { mergeScenarios } from "./merge.js";
import { oauthScenarios } from "./oauth.js";
import { routeScenarios } from "./routes.js";
import { routingScenarios } from "./routing.js";
import { upstreamScenarios } from "./upstream.js";
import { validationScenarios } from "./validation.js";

export {
  describeMatrix,
  GUARD_PASS_HEADER,
  GUARDED,
  type AdapterCase,
  type AppSetup,
  type MatrixContext,
  type ModelSource,
  type RunningApp,
} from "./matrix.js";
export { listen } from "./servers.js";

/** Every HTTP scenario of the suite, grouped as the SPEC's sections are. */
export function httpScenarios(context: MatrixContext): void {
  routeScenarios(context);
  routingScenarios(context);
  accessScenarios(context);
  validationScenarios(context);
  mergeScenarios(context);
  upstreamScenarios(context);
  injectionScenarios(context);
  oauthScenarios(context);
}
