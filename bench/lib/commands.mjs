// The child side of the bench's IPC: a server child answers the parent's commands ({ id, cmd }) by name.

/** Answers each `{ id, cmd }` message with `{ id, result }` from `commands[cmd]()`, or `{ id, error }`; exits with the parent. */
export function serveCommands(commands) {
  process.on('message', async ({ id, cmd }) => {
    try {
      const command = commands[cmd];
      if (command === undefined) throw new Error(`unknown command "${cmd}"`);
      process.send({ id, result: await command() });
    } catch (error) {
      process.send({ id, error: String(error?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
