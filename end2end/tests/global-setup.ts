import { execFileSync } from "node:child_process";
import path from "node:path";

export const AGENT = { username: "e2e-agent", password: "e2e password 12345" };
export const ADMIN = { username: "e2e-admin", password: "e2e admin password 12345" };

/** Creates the agent and the admin the tests sign in as, with the real CLI, against the
 *  same database as the running server (DATABASE_URL and SECRET_KEY are
 *  exported by scripts/test.sh). Waits for the server first. */
export default async function globalSetup() {
  const base = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8000";
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`server at ${base} did not come up`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const root = path.resolve(__dirname, "..", "..");
  // Cargo's target directory: CARGO_TARGET_DIR when set (as `.ci/run` does), else target/.
  const target = path.resolve(root, process.env.CARGO_TARGET_DIR ?? "target");
  const bin = process.env.DEFMIS_BIN ?? path.join(target, "release", "defmis-chat");
  for (const [who, role] of [
    [AGENT, "agent"],
    [ADMIN, "admin"],
  ] as const) {
    try {
      execFileSync(bin, ["create-admin", "--username", who.username, "--role", role], {
        cwd: root,
        input: who.password + "\n",
        stdio: ["pipe", "inherit", "pipe"],
      });
    } catch (e: any) {
      const stderr = String(e.stderr ?? "");
      if (!stderr.includes("taken")) throw new Error(`create-admin failed: ${stderr}`);
    }
  }
}
