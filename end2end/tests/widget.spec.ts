import { test, expect, type Browser, type Page, type APIRequestContext } from "@playwright/test";
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { ADMIN, AGENT } from "./global-setup";
import { DashboardPage } from "./pages";

// The widget as customers' sites embed it: on a page from another origin
// (a small shop server on another loopback port, started here) loading the
// loader from the chat server. Not `page.route` on a made-up public host:
// Chromium's private/local network access rules then block the loopback
// chat server. Selectors pierce the widget's open shadow root.

const BASE = (process.env.E2E_BASE_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
let shopBase: Promise<string> | undefined;

/** The shop: serves the page whose widget options are in `?o=` (JSON). */
function shopServer(): Promise<string> {
  shopBase ??= new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const o = new URL(req.url ?? "/", "http://x").searchParams.get("o") ?? "{}";
      res.setHeader("Content-Type", "text/html; charset=utf-8");
      res.end(shopHtml(JSON.parse(o)));
    });
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address() as AddressInfo;
      server.unref();
      resolve(`http://127.0.0.1:${addr.port}`);
    });
  });
  return shopBase;
}
// The same value as IDENTITY_SECRET in scripts/test.sh's e2e environment.
const IDENTITY_SECRET = "e2e-identity-secret-0123456789";

type Creds = { customer_id: string; token: string; site?: string };
type Message = { seq: number; sender: string; content: string; client_id: string | null };

function shopHtml(opts: Record<string, unknown>) {
  const cfg = JSON.stringify({ apiUrl: BASE, ...opts });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Shop</title></head>
<body><h1>Shop</h1><a href="#top" id="first">First link</a>
<script>window.DEFMISChat = ${cfg};</script>
<script src="${BASE}/static/js/chat-widget.js" async></script></body></html>`;
}

function hmac(customerId: string) {
  return crypto.createHmac("sha256", IDENTITY_SECRET).update(customerId).digest("hex");
}

/** The shop page with the widget, and the visitor's side of the chat. */
class Shop {
  constructor(readonly page: Page) {}

  async goto(opts: Record<string, unknown> = {}) {
    const shop = await shopServer();
    await this.page.goto(`${shop}/?o=${encodeURIComponent(JSON.stringify(opts))}`);
    await expect(this.launcher()).toBeAttached();
  }

  launcher() {
    return this.page.locator("#defmis-chat-root button.dc-launcher");
  }

  panel() {
    return this.page.locator(".dc-panel");
  }

  status() {
    return this.page.locator(".dc-status");
  }

  async open() {
    await this.launcher().click();
    await expect(this.panel()).toBeVisible();
  }

  async openLive() {
    await this.open();
    await expect(this.status()).toHaveText(/connected/i, { timeout: 20_000 });
  }

  async send(text: string) {
    await this.page.locator("textarea.dc-input").fill(text);
    await this.page.locator("button.dc-send").click();
  }

  /** A message the server stored (it has its seq). */
  message(sender: "customer" | "agent" | "bot", text: string) {
    return this.page.locator(`.dc-msg[data-sender="${sender}"][data-seq]`, { hasText: text });
  }

  bubble(text: string) {
    return this.page.locator(".dc-msg", { hasText: text });
  }

  async creds(): Promise<Creds | null> {
    return this.page.evaluate((base) => JSON.parse(localStorage.getItem("defmis-chat:" + base) ?? "null"), BASE);
  }
}

/** Everything the server stored for the visitor's conversation (their own history API). */
async function stored(request: APIRequestContext, c: Creds): Promise<Message[]> {
  const r = await request.get(
    `${BASE}/chat/api/chat/${encodeURIComponent(c.customer_id)}/history/?after=0&limit=500`,
    { headers: { Authorization: `Bearer ${c.token}` } },
  );
  expect(r.status()).toBe(200);
  return (await r.json()).messages;
}

function count(messages: Message[], text: string) {
  return messages.filter((m) => m.content === text).length;
}

async function agentOnline(browser: Browser) {
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  const dashboard = new DashboardPage(page);
  await dashboard.signIn(AGENT.username, AGENT.password);
  return { context, page, dashboard };
}

test("with no agent online, the offline form starts a conversation", async ({ browser }) => {
  // Agent presence left by earlier test files expires (at most 45 s): retry
  // on fresh pages until the server says nobody is available.
  const context = await browser.newContext();
  let shop!: Shop;
  await expect(async () => {
    shop = new Shop(await context.newPage());
    await shop.goto();
    await shop.open();
    await expect(shop.page.locator("form.dc-offline-form")).toBeVisible({ timeout: 3_000 });
  }).toPass({ timeout: 90_000, intervals: [5_000] });
  const page = shop.page;
  await expect(page.locator("textarea.dc-input")).toBeHidden();
  await page.locator(".dc-f-name").fill("Olga Offline");
  await page.locator(".dc-f-email").fill("olga@example.com");
  const text = `Please call me back ${Date.now()}`;
  await page.locator(".dc-f-msg").fill(text);
  await page.locator(".dc-f-send").click();
  await expect(shop.message("customer", text)).toBeVisible();
  await expect(page.locator("form.dc-offline-form")).toBeHidden();
  await expect(page.locator("textarea.dc-input")).toBeVisible();
  const c = await shop.creds();
  expect(c).not.toBeNull();
  expect(count(await stored(page.request, c!), text)).toBe(1);
  await context.close();
});

test("nothing is written to storage or cookies before the visitor opens the chat; the weight is within budget", async ({ browser, request }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const shop = new Shop(page);
  await shop.goto();
  // Hovering the launcher loads the widget.
  await shop.launcher().hover();
  await page.waitForTimeout(3_000);
  expect(await page.evaluate(() => [localStorage.length, document.cookie])).toEqual([0, ""]);
  const gz = async (path: string) => {
    const r = await request.get(`${BASE}${path}`);
    expect(r.status()).toBe(200);
    return zlib.gzipSync(await r.body(), { level: 9 }).length;
  };
  const loader = await gz("/static/js/chat-widget.js");
  const glue = await gz("/static/widget/defmis_widget.js");
  const wasm = await gz("/static/widget/defmis_widget_bg.wasm");
  console.log(`widget weight (gzip): loader ${loader} B, glue ${glue} B, wasm ${wasm} B`);
  expect(loader).toBeLessThanOrEqual(3 * 1024);
  expect(glue + wasm).toBeLessThanOrEqual(40 * 1024);
  await context.close();
});

test("without any interaction the widget loads after the page, when idle, and still stores nothing", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const shop = new Shop(page);
  await shop.goto();
  // The panel is drawn by the wasm, which the loader fetches on its own.
  await expect(page.locator(".dc-panel")).toBeAttached({ timeout: 15_000 });
  expect(await page.evaluate(() => [localStorage.length, document.cookie])).toEqual([0, ""]);
  await context.close();
});

test.describe("with an agent online", () => {
  let agent: Awaited<ReturnType<typeof agentOnline>>;

  test.beforeAll(async ({ browser }) => {
    agent = await agentOnline(browser);
  });

  test.afterAll(async () => {
    await agent?.context.close();
  });

  test("the outbox survives a reload and is sent once", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const shop = new Shop(page);
    await shop.goto();
    await shop.openLive();
    await shop.send("first, to start");
    await expect(shop.message("customer", "first, to start")).toBeVisible();

    // A socket that looks open while its frames go nowhere, and no HTTP.
    await page.routeWebSocket(/\/ws\/chat\//, () => {});
    await page.route(`${BASE}/chat/api/**`, (r) => r.abort());
    await context.setOffline(true);
    const text = `kept across a reload ${Date.now()}`;
    await shop.send(text);
    await expect(page.locator('.dc-msg[data-state="sending"]', { hasText: text })).toBeVisible();
    await context.setOffline(false);
    await page.waitForTimeout(2_000);
    await expect(page.locator('.dc-msg[data-state="sending"]', { hasText: text })).toBeVisible();
    const outbox = await page.evaluate((base) => localStorage.getItem("defmis-chat-outbox:" + base), BASE);
    expect(outbox).toContain(text);

    // A new page load (same storage) sends it.
    await page.close();
    const again = new Shop(await context.newPage());
    await again.goto();
    await again.open();
    await expect(again.message("customer", text)).toBeVisible({ timeout: 20_000 });
    await expect(again.page.locator('.dc-msg[data-state="sent"]', { hasText: text })).toBeVisible();
    const c = await again.creds();
    expect(count(await stored(again.page.request, c!), text)).toBe(1);
    expect(await again.page.evaluate((base) => localStorage.getItem("defmis-chat-outbox:" + base), BASE)).toBeNull();
    await context.close();
  });

  test("offline then online: every message is stored exactly once", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const shop = new Shop(page);
    await shop.goto();
    await shop.openLive();
    await shop.send("before the drop");
    await expect(shop.message("customer", "before the drop")).toBeVisible();
    const texts: string[] = [];
    for (let round = 0; round < 3; round++) {
      await context.setOffline(true);
      await expect(shop.status()).toHaveAttribute("data-state", "offline");
      const text = `typed while offline ${round} ${Date.now()}`;
      texts.push(text);
      await shop.send(text);
      await expect(page.locator('.dc-msg[data-state="sending"]', { hasText: text })).toBeVisible();
      await context.setOffline(false);
      await expect(shop.message("customer", text)).toBeVisible({ timeout: 20_000 });
      await expect(shop.status()).toHaveText(/connected/i);
    }
    const c = await shop.creds();
    const messages = await stored(page.request, c!);
    for (const t of texts) expect(count(messages, t)).toBe(1);
    expect(count(messages, "before the drop")).toBe(1);
    await context.close();
  });

  test("WebSocket blocked: long polling carries messages both ways", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.routeWebSocket(/\/ws\/chat\//, (ws) => ws.close());
    const shop = new Shop(page);
    await shop.goto();
    await shop.open();
    await expect(shop.status()).toHaveAttribute("data-state", "http", { timeout: 30_000 });
    await expect(shop.status()).toHaveText(/connected/i);
    const text = `over HTTP ${Date.now()}`;
    await shop.send(text);
    await expect(shop.message("customer", text)).toBeVisible();

    const { page: agentPage, dashboard } = agent;
    await agentPage.goto("/dashboard/conversations");
    await dashboard.waitLive();
    await dashboard.sessionRow(text).locator("a").click();
    await dashboard.waitLive();
    const reply = `long polled reply ${Date.now()}`;
    await dashboard.reply(reply);
    await expect(shop.message("agent", reply)).toBeVisible({ timeout: 30_000 });
    await context.close();
  });

  test("typing and read receipts, both ways", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const shop = new Shop(page);
    await shop.goto();
    await shop.openLive();
    const hello = `receipts please ${Date.now()}`;
    await shop.send(hello);
    await expect(shop.message("customer", hello)).toBeVisible();

    const { page: agentPage, dashboard } = agent;
    await agentPage.goto("/dashboard/conversations");
    await dashboard.waitLive();
    await dashboard.sessionRow(hello).locator("a").click();
    await dashboard.waitLive();
    await expect(dashboard.message("customer", hello)).toBeVisible();

    // The agent has the visitor's message on screen: "Seen" in the widget.
    await expect(page.locator(".dc-seen")).toBeVisible({ timeout: 15_000 });

    // Agent typing → "… is typing…" in the widget.
    await agentPage.locator("form.reply textarea").pressSequentially("Let me check", { delay: 50 });
    await expect(page.locator(".dc-typing")).toBeVisible();
    await expect(page.locator(".dc-typing")).toContainText(/typing/i);

    // Visitor typing → shown in the dashboard.
    await page.locator("textarea.dc-input").pressSequentially("one more thing", { delay: 50 });
    await expect(agentPage.getByText(/typing/i).first()).toBeVisible();

    // The agent's reply, read with the panel open: the server records the visitor's read seq.
    const reply = `read me ${Date.now()}`;
    await dashboard.reply(reply);
    await expect(shop.message("agent", reply)).toBeVisible();
    const seq = Number(await shop.message("agent", reply).getAttribute("data-seq"));
    const c = await shop.creds();
    await expect
      .poll(async () => {
        const r = await agentPage.request.get(`${BASE}/chat/api/admin/sessions/?status=all&limit=100`);
        const s = (await r.json()).sessions.find((x: any) => x.customer_id === c!.customer_id);
        return s?.customer_read_seq ?? 0;
      })
      .toBeGreaterThanOrEqual(seq);
    await context.close();
  });

  test("the unread badge counts agent messages while the panel is closed", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const shop = new Shop(page);
    await shop.goto();
    await shop.openLive();
    const hello = `badge test ${Date.now()}`;
    await shop.send(hello);
    await expect(shop.message("customer", hello)).toBeVisible();
    await page.locator("button.dc-close").click();
    await expect(shop.panel()).toBeHidden();

    const { page: agentPage, dashboard } = agent;
    await agentPage.goto("/dashboard/conversations");
    await dashboard.waitLive();
    await dashboard.sessionRow(hello).locator("a").click();
    await dashboard.waitLive();
    await dashboard.reply("first unread");
    await expect(dashboard.message("agent", "first unread")).toBeVisible();
    await dashboard.reply("second unread");
    await expect(dashboard.message("agent", "second unread")).toBeVisible();
    await expect(page.locator(".dc-badge")).toHaveText("2");
    await expect(shop.launcher()).toHaveAttribute("aria-label", /new messages/i);

    // Still unread after a reload (the read seq is the server's).
    await page.reload();
    await expect(page.locator(".dc-badge")).toHaveText("2", { timeout: 20_000 });
    await shop.open();
    await expect(page.locator(".dc-badge")).toBeHidden();
    await context.close();
  });

  test("identity: the same customerId and hash resume the conversation on another device; a forged hash is refused", async ({ browser }) => {
    const customerId = `ann-${Date.now()}@example.com`;
    const a = await browser.newContext();
    const shopA = new Shop(await a.newPage());
    await shopA.goto({ customerId, customerHash: hmac(customerId), customerName: "Ann" });
    await shopA.openLive();
    const text = `from device A ${Date.now()}`;
    await shopA.send(text);
    await expect(shopA.message("customer", text)).toBeVisible();

    const b = await browser.newContext();
    const shopB = new Shop(await b.newPage());
    await shopB.goto({ customerId, customerHash: hmac(customerId) });
    await shopB.openLive();
    await expect(shopB.message("customer", text)).toBeVisible();

    const c = await browser.newContext();
    const forged = new Shop(await c.newPage());
    const warnings: string[] = [];
    forged.page.on("console", (m) => {
      if (m.type() === "warning") warnings.push(m.text());
    });
    await forged.goto({ customerId, customerHash: "0".repeat(64) });
    await forged.openLive();
    await expect.poll(() => warnings.join("\n")).toMatch(/customerId|customerHash/);
    await expect(forged.bubble(text)).toHaveCount(0);
    const creds = await forged.creds();
    expect(creds?.customer_id).not.toBe(customerId);

    // Numbers are passed as given.
    const d = await browser.newContext();
    const numeric = new Shop(await d.newPage());
    const n = Date.now();
    await numeric.goto({ customerId: n, customerHash: hmac(String(n)) });
    await numeric.openLive();
    expect((await numeric.creds())?.customer_id).toBe(String(n));

    for (const ctx of [a, b, c, d]) await ctx.close();
  });

  test("a phone viewport shows the open panel full screen with 16 px inputs", async ({ browser }) => {
    const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const shop = new Shop(page);
    await shop.goto();
    await shop.openLive();
    const box = await shop.panel().boundingBox();
    expect(box).toEqual({ x: 0, y: 0, width: 375, height: 667 });
    const size = await page.locator("textarea.dc-input").evaluate((el) => getComputedStyle(el).fontSize);
    expect(size).toBe("16px");
    // The host page can style the widget's parts.
    await page.addStyleTag({
      content:
        "#defmis-chat-root::part(header){background:rgb(1, 2, 3)}#defmis-chat-root::part(input){border-color:rgb(4, 5, 6)}",
    });
    const header = await page.locator(".dc-head").evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(header).toBe("rgb(1, 2, 3)");
    const border = await page.locator("textarea.dc-input").evaluate((el) => getComputedStyle(el).borderTopColor);
    expect(border).toBe("rgb(4, 5, 6)");
    for (const part of ["launcher", "panel", "messages", "composer", "send"]) {
      await expect(page.locator(`[part=${part}]`)).toHaveCount(1);
    }
    await context.close();
  });

  test("keyboard only: open, send, close with Esc, focus back on the launcher", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const shop = new Shop(page);
    await shop.goto();
    await page.locator("#first").focus();
    await page.keyboard.press("Tab");
    await expect(shop.launcher()).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(shop.panel()).toBeVisible();
    await expect(shop.panel()).toHaveAttribute("role", "dialog");
    await expect(page.locator(".dc-messages")).toHaveAttribute("aria-live", "polite");
    await expect(page.locator("textarea.dc-input")).toBeFocused();
    await expect(shop.status()).toHaveText(/connected/i, { timeout: 20_000 });
    const text = `typed with the keyboard ${Date.now()}`;
    await page.keyboard.type(text);
    await page.keyboard.press("Enter");
    await expect(shop.message("customer", text)).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(shop.panel()).toBeHidden();
    await expect(shop.launcher()).toBeFocused();
    await context.close();
  });

  test("locale es: every string in Spanish", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const shop = new Shop(page);
    await shop.goto({ locale: "es" });
    await expect(shop.launcher()).toHaveAttribute("aria-label", "Abrir chat");
    await shop.open();
    await expect(shop.status()).toHaveText("Conectado", { timeout: 20_000 });
    await expect(page.locator("textarea.dc-input")).toHaveAttribute("placeholder", "Escribe un mensaje…");
    await expect(page.locator("button.dc-send")).toHaveAttribute("aria-label", "Enviar mensaje");
    await expect(page.locator("button.dc-close")).toHaveAttribute("aria-label", "Cerrar chat");
    await context.close();
  });

  test("the snippet's locale picks the language of automated replies", async ({ browser }) => {
    // A keyword rule with a Spanish translation, made through the admin API.
    const adminContext = await browser.newContext();
    const admin = new DashboardPage(await adminContext.newPage());
    await admin.signIn(ADMIN.username, ADMIN.password);
    const keyword = `idioma${Date.now()}`;
    const api = admin.page.request;
    const headers = { origin: BASE };
    const made = await api.post(`${BASE}/chat/api/admin/auto-responses/`, {
      headers,
      data: {
        name: `Language ${keyword}`,
        priority: 100,
        trigger: { type: "keyword", match: "any", keywords: [keyword] },
        action: { message: "Hello in English.", translations: { es: "Hola en español." } },
      },
    });
    expect(made.status()).toBe(201);
    const rule = (await made.json()) as { id: string };
    try {
      // The browser says English (and so does its Accept-Language); the
      // snippet says Spanish: the loader sends the snippet's.
      const context = await browser.newContext({ locale: "en-US" });
      const shop = new Shop(await context.newPage());
      await shop.goto({ locale: "es" });
      await shop.open();
      await expect(shop.status()).toHaveText("Conectado", { timeout: 20_000 });
      await shop.send(`${keyword} por favor`);
      await expect(shop.message("bot", "Hola en español.")).toBeVisible();
      await expect(shop.message("bot", "Hello in English.")).toHaveCount(0);
      await context.close();
    } finally {
      const gone = await api.delete(`${BASE}/chat/api/admin/auto-responses/${rule.id}/`, { headers });
      expect(gone.status()).toBe(204);
      await adminContext.close();
    }
  });

  test("an XSS corpus is shown as text; only http(s) links become links", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("dialog", (d) => {
      throw new Error(`a dialog opened: ${d.message()}`);
    });
    const shop = new Shop(page);
    await shop.goto();
    await shop.openLive();
    const corpus = [
      "<script>alert(1)</script>",
      "<img src=x onerror=alert(1)>",
      "<svg onload=alert(1)>",
      '"><iframe src=javascript:alert(1)>',
      "javascript:alert(1)",
      "<a href=\"javascript:alert(1)\">click</a>",
      "&lt;b&gt;entities&lt;/b&gt; & <b>bold</b>",
      "see https://example.com/a?b=<c>&d=1 now",
    ];
    for (const text of corpus) {
      await shop.send(text);
      await expect(page.locator(".dc-msg[data-seq] .dc-text").filter({ hasText: text.slice(0, 12) }).first()).toBeVisible();
    }
    const texts = await page.locator('.dc-msg[data-sender="customer"][data-seq] .dc-text').allTextContents();
    for (const text of corpus) expect(texts).toContain(text);
    const list = page.locator(".dc-messages");
    await expect(list.locator("script, img, svg, iframe, b")).toHaveCount(0);
    const links = list.locator("a");
    await expect(links).toHaveCount(1);
    await expect(links).toHaveAttribute("href", "https://example.com/a?b=");
    await expect(links).toHaveAttribute("rel", "noopener noreferrer nofollow");
    await expect(links).toHaveAttribute("target", "_blank");
    await context.close();
  });
});

