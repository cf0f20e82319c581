// The express-background-tasks/otel entry point: re-exports only. @opentelemetry/* are loaded from here, never from the main entry.
export {
  ATTR_REQUEST_METHOD,
  ATTR_REQUEST_PATH,
  ATTR_TASK_ATTEMPT,
  ATTR_TASK_NAME,
  ATTR_TASK_NAMES,
  ATTR_TASK_OUTCOME,
  ATTR_TASK_WHERE,
  BackgroundTasksInstrumentation,
  type BackgroundTasksInstrumentationConfig,
} from './instrumentation.js';
