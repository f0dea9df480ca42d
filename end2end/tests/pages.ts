import { expect, type Page, type ConsoleMessage } from "@playwright/test";

/** Fails the test on any console error or hydration warning, and on any
 *  uncaught page error. Call `check()` at the end. */
export function watchConsole(page: Page, label: string, expected?: RegExp) {
  const problems: string[] = [];
  page.on("console", (msg: ConsoleMessage) => {
    const text = msg.text();
    if (expected && expected.test(text)) return;
    const hydration = /hydrat/i.test(text);
    if (msg.type() === "error" || hydration) problems.push(`[${label} ${msg.type()}] ${text}`);
  });
  page.on("pageerror", (err) => problems.push(`[${label} pageerror] ${err.message}`));
  return {
    check() {
      expect(problems, problems.join("\n")).toEqual([]);
    },
  };
}

/** The demo page with the embedded widget (selectors pierce its open shadow root). */
export class WidgetPage {
  constructor(readonly page: Page) {}

  async goto(path = "/") {
    await this.page.goto(path);
    await expect(this.page.locator("#defmis-chat-root")).toBeAttached();
  }

  launcher() {
    return this.page.locator("button.dc-launcher");
  }

  async open() {
    await this.launcher().click();
    await expect(this.page.locator(".dc-panel")).toBeVisible();
    await expect(this.page.locator(".dc-status")).toHaveText(/connected/i);
  }

  async send(text: string) {
    await this.page.locator("textarea.dc-input").fill(text);
    await this.page.locator("button.dc-send").click();
  }

  message(sender: "customer" | "agent" | "bot", text: string) {
    return this.page.locator(`.dc-msg[data-sender="${sender}"][data-seq]`, { hasText: text });
  }
}

/** The agent dashboard. */
export class DashboardPage {
  constructor(readonly page: Page) {}

  async signIn(username: string, password: string) {
    await this.page.goto("/dashboard/login");
    await this.waitHydrated();
    await this.page.locator('input[name="username"]').fill(username);
    await this.page.locator('input[name="password"]').fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
    await expect(this.page).toHaveURL(/\/dashboard$/);
    await this.waitLive();
  }

  /** The dashboard's wasm has hydrated when Leptos marks the document. */
  async waitHydrated() {
    await this.page.waitForFunction(() => (window as any).__defmisHydrated === true, null, { timeout: 30_000 });
  }

  async waitLive() {
    await expect(this.page.locator(".live-badge")).toHaveText("Live", { timeout: 30_000 });
    await expect(this.page.locator(".live-badge")).toHaveAttribute("data-state", "live");
  }

  sessionRow(text: string) {
    return this.page.locator(".session-row", { hasText: text });
  }

  message(sender: "customer" | "agent", text: string) {
    return this.page.locator(`.msg[data-sender="${sender}"]`, { hasText: text });
  }

  async reply(text: string) {
    await this.page.locator("form.reply textarea").fill(text);
    await this.page.locator("form.reply button[type=submit]").click();
  }
}
