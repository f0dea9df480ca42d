import { test, expect, type Page } from "@playwright/test";
import { AGENT } from "./global-setup";
import { DashboardPage, watchConsole } from "./pages";

/** A raw visitor: the widget API over HTTP and the visitor socket from a
 *  page of its own browser context (the widget's UI is tested elsewhere;
 *  this checks the frames and the dashboard). */
class RawVisitor {
  customerId = "";
  token = "";

  constructor(readonly page: Page) {}

  async start(name: string, firstMessage: string) {
    const started = await this.page.request.post("/chat/api/chat/start/", { data: { name } });
    expect(started.status()).toBe(200);
    const body = await started.json();
    this.customerId = body.customer_id;
    this.token = body.token;
    expect(body.read_seq).toBe(0);
    expect(body.agent_read_seq).toBe(0);
    const sent = await this.page.request.post("/chat/api/chat/message/", {
      headers: { authorization: `Bearer ${this.token}` },
      data: { customer_id: this.customerId, content: firstMessage, client_id: `live-${Date.now()}` },
    });
    expect(sent.status()).toBe(201);
  }

  /** Opens and authenticates the socket; every frame it receives is kept
   *  in `window.__frames`. Resolves once the server answered a ping (so the
   *  socket is subscribed). */
  async connect() {
    await this.page.goto("/healthz");
    await this.page.evaluate(
      ([customerId, token]) =>
        new Promise<void>((resolve, reject) => {
          const w = window as any;
          w.__frames = [];
          const scheme = location.protocol === "https:" ? "wss" : "ws";
          const ws = new WebSocket(`${scheme}://${location.host}/ws/chat/${encodeURIComponent(customerId)}/`);
          w.__ws = ws;
          ws.onmessage = (e) => {
            const frame = JSON.parse(e.data);
            w.__frames.push(frame);
            if (frame.type === "pong") resolve();
          };
          ws.onopen = () => {
            ws.send(JSON.stringify({ type: "auth", token, after: 0 }));
            ws.send(JSON.stringify({ type: "ping" }));
          };
          ws.onerror = () => reject(new Error("visitor socket failed"));
        }),
      [this.customerId, this.token],
    );
  }

  async send(frame: object) {
    await this.page.evaluate((f) => (window as any).__ws.send(JSON.stringify(f)), frame);
  }

  /** The first received frame matching, waiting for it. */
  async frame(match: (f: any) => boolean): Promise<any> {
    const handle = await this.page.waitForFunction(
      (src) => {
        const test = new Function("f", `return (${src})(f)`) as (f: any) => boolean;
        return ((window as any).__frames as any[]).find((f) => test(f)) ?? null;
      },
      match.toString(),
      { timeout: 10_000 },
    );
    return handle.jsonValue();
  }
}

test("typing indicators and read receipts, both ways", async ({ browser }) => {
  const visitorContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const visitorPage = await visitorContext.newPage();
  const agentPage = await agentContext.newPage();
  const agentConsole = watchConsole(agentPage, "dashboard");

  const dashboard = new DashboardPage(agentPage);
  await dashboard.signIn(AGENT.username, AGENT.password);

  const visitor = new RawVisitor(visitorPage);
  const hello = `Typing test ${Date.now()}`;
  await visitor.start("Live visitor", hello);

  const row = dashboard.sessionRow(hello);
  await expect(row).toBeVisible();
  await row.locator("a").click();
  await expect(agentPage).toHaveURL(/\/dashboard\/conversations\//);
  await dashboard.waitLive();
  await expect(dashboard.message("customer", hello)).toBeVisible();
  const indicator = agentPage.locator(".typing-indicator");
  await expect(indicator).toBeHidden();

  await visitor.connect();

  // The visitor types: the dashboard says so; a stop hides it at once.
  await visitor.send({ type: "typing", active: true });
  await expect(indicator).toBeVisible();
  await expect(indicator).toHaveText("Visitor is typing…");
  await visitor.send({ type: "typing", active: false });
  await expect(indicator).toBeHidden();
  // Without a stop it goes away by itself after 6 s (the server passes one
  // typing frame a second, so wait that out first).
  await agentPage.waitForTimeout(1_100);
  await visitor.send({ type: "typing", active: true });
  await expect(indicator).toBeVisible();
  await expect(indicator).toBeHidden({ timeout: 9_000 });

  // The agent types: the visitor hears of it with a name, and of the stop
  // when the reply is sent.
  await agentPage.locator("form.reply textarea").fill("On it");
  const typing = await visitor.frame((f) => f.type === "typing" && f.active === true);
  expect(typing.by).toBe("agent");
  expect(typeof typing.name).toBe("string");
  expect(typing.name.length).toBeGreaterThan(0);
  const reply = `Reply ${Date.now()}`;
  await dashboard.reply(reply);
  await expect(dashboard.message("agent", reply)).toBeVisible();
  await visitor.frame((f) => f.type === "typing" && f.active === false);
  const agentMessage = await visitor.frame((f) => f.type === "message" && f.message.sender === "agent");
  // The open, visible dashboard reports the newest message read.
  const readByAgent = await visitor.frame((f) => f.type === "read" && f.by === "agent");
  expect(readByAgent.seq).toBe(agentMessage.message.seq);

  // No "Seen" until the visitor reads the reply; then under it.
  const seen = agentPage.locator(".seen-marker");
  await expect(seen).toHaveCount(0);
  await visitor.send({ type: "read", seq: agentMessage.message.seq });
  await expect(dashboard.message("agent", reply).locator(".seen-marker")).toHaveText("Seen");
  await expect(seen).toHaveCount(1);

  // Stored: after a reload the dashboard still shows it, and the visitor's
  // start answer carries both read seqs.
  await agentPage.reload();
  await dashboard.waitHydrated();
  await expect(dashboard.message("agent", reply).locator(".seen-marker")).toHaveText("Seen");
  const resumed = await visitorPage.request.post("/chat/api/chat/start/", {
    data: { customer_id: visitor.customerId, token: visitor.token },
  });
  const body = await resumed.json();
  expect(body.read_seq).toBe(agentMessage.message.seq);
  expect(body.agent_read_seq).toBe(agentMessage.message.seq);

  agentConsole.check();
  await visitorContext.close();
  await agentContext.close();
});
