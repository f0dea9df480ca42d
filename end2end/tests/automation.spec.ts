import { test, expect, type Browser } from "@playwright/test";
import { ADMIN, AGENT } from "./global-setup";
import { DashboardPage, WidgetPage, watchConsole } from "./pages";

async function signedIn(browser: Browser, who: { username: string; password: string }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const dashboard = new DashboardPage(page);
  await dashboard.signIn(who.username, who.password);
  return { context, page, dashboard };
}

const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

test("outside business hours a visitor's hello gets the bot's reply, which agents see as the bot's", async ({ browser }) => {
  const stamp = Date.now();
  const closedRule = `Closed ${stamp}`;
  const pricingRule = `Pricing ${stamp}`;
  const admin = await signedIn(browser, ADMIN);
  // The bad time zone below is refused with a 422 on purpose.
  const console = watchConsole(admin.page, "automation", /status of 422/);
  const page = admin.page;
  await page.goto("/dashboard/automation");
  await admin.dashboard.waitHydrated();

  // Two rules from the editor.
  const form = page.locator("form.rule-form");
  const add = async (name: string, trigger: string, message: string, keywords?: string) => {
    await form.locator('input[name="name"]').fill(name);
    await form.locator('select[name="trigger"]').selectOption(trigger);
    if (keywords) await form.locator('textarea[name="keywords"]').fill(keywords);
    await form.locator('textarea[name="message"]').fill(message);
    await form.getByRole("button", { name: "Save" }).click();
    await expect(page.locator(`.rule-row[data-name="${name}"]`)).toBeVisible();
  };
  await add(pricingRule, "keyword", "Prices are on /pricing.", "price\nhow much");
  await add(closedRule, "outside_business_hours", "Thanks {customer_name}! We are closed and back {next_open}.");
  // Both at priority 0: by name, so "Closed …" ranks first; ↑ puts Pricing first.
  const rows = page.locator(".rule-row");
  const ours = rows.filter({ hasText: String(stamp) });
  await expect(ours.first()).toHaveAttribute("data-name", closedRule);
  await page.locator(`.rule-row[data-name="${pricingRule}"] button.rule-up`).click();
  await expect(ours.first()).toHaveAttribute("data-name", pricingRule);
  // Turned off, and still off after a reload; the ranking holds too.
  await page.locator(`.rule-row[data-name="${pricingRule}"] input.rule-enabled`).uncheck();
  await expect(page.locator(`.rule-row[data-name="${pricingRule}"]`)).toHaveClass(/off/);
  await page.reload();
  await admin.dashboard.waitHydrated();
  await expect(page.locator(`.rule-row[data-name="${pricingRule}"] input.rule-enabled`)).not.toBeChecked();
  await expect(ours.first()).toHaveAttribute("data-name", pricingRule);

  // Business hours: open only on the weekday three days from now, 09:00–10:00 in Madrid.
  await page.goto("/dashboard/automation/hours");
  await admin.dashboard.waitHydrated();
  const hours = page.locator("form.hours-form");
  const day = DAYS[new Date(Date.now() + 3 * 86_400_000).getUTCDay()];
  await hours.locator('input[name="enabled"]').check();
  await hours.locator('input[name="time_zone"]').fill("Europe/Madrid");
  for (const d of DAYS) await hours.locator(`input[name="${d}"]`).fill(d === day ? "09:00-10:00" : "");
  await expect(page.locator(".week-view .week-open")).toHaveCount(1);
  await hours.getByRole("button", { name: "Save" }).click();
  await expect(page.locator(".hours-state")).toContainText("Closed now; opens");
  // A bad zone is refused with the field named.
  await hours.locator('input[name="time_zone"]').fill("Mars/Base");
  await hours.getByRole("button", { name: "Save" }).click();
  await expect(page.locator(".error")).toContainText("time_zone");
  await hours.locator('input[name="time_zone"]').fill("Europe/Madrid");
  await hours.getByRole("button", { name: "Save" }).click();
  await expect(page.locator(".saved")).toBeVisible();

  try {
    // "Try it": hello now → the closed rule, with its reply as sent.
    await page.goto("/dashboard/automation");
    await admin.dashboard.waitHydrated();
    await page.locator('form.try-it textarea[name="try"]').fill("hello");
    await page.locator("form.try-it").getByRole("button", { name: "Try" }).click();
    await expect(page.locator(".try-result .try-rule")).toHaveText(closedRule);
    await expect(page.locator(".try-result .try-reply")).toContainText("We are closed and back");
    await expect(page.locator(".try-result .try-reasons li").first()).toBeVisible();

    // The visitor (in Madrid): closed, so the offline form; they say hello.
    const visitorContext = await browser.newContext({ timezoneId: "Europe/Madrid" });
    const widget = new WidgetPage(await visitorContext.newPage());
    await widget.goto();
    await widget.launcher().click();
    const wpage = widget.page;
    await expect(wpage.locator("form.dc-offline-form")).toBeVisible();
    const name = `Vera ${stamp}`;
    await wpage.locator(".dc-f-name").fill(name);
    await wpage.locator(".dc-f-email").fill(`vera${stamp}@example.com`);
    await wpage.locator(".dc-f-msg").fill("hello");
    await wpage.locator(".dc-f-send").click();
    await expect(widget.message("customer", "hello")).toBeVisible();
    const bot = widget.message("bot", `Thanks ${name}! We are closed and back`);
    await expect(bot).toBeVisible();
    // {next_open} in the visitor's own time zone (the loader sends it), so not named.
    await expect(bot).toContainText("at 09:00.");
    await expect(bot).not.toContainText("(Europe/Madrid)");

    // The agent sees the reply as the bot's, after the visitor's message.
    const agent = await signedIn(browser, AGENT);
    await agent.page.goto("/dashboard/conversations");
    await agent.dashboard.waitHydrated();
    await agent.dashboard.sessionRow(name).click();
    const botMsg = agent.page.locator('.msg[data-sender="bot"]', { hasText: "We are closed and back" });
    await expect(botMsg).toBeVisible();
    await expect(botMsg.locator(".who")).toHaveText("Bot");
    await expect(agent.page.locator(".msg").last()).toHaveAttribute("data-sender", "bot");

    // The log says it fired, and links to the conversation.
    await page.goto("/dashboard/automation/log");
    await admin.dashboard.waitHydrated();
    const entry = page.locator('.log-row[data-outcome="fired"]', { hasText: closedRule }).first();
    await expect(entry).toBeVisible();
    await expect(entry).toContainText("business hours are closed");
    await agent.context.close();
    await visitorContext.close();
  } finally {
    // Leave the server as the other tests expect it: always open, no rules of ours.
    await page.goto("/dashboard/automation/hours");
    await admin.dashboard.waitHydrated();
    await page.locator('form.hours-form input[name="enabled"]').uncheck();
    await page.locator("form.hours-form").getByRole("button", { name: "Save" }).click();
    await expect(page.locator(".hours-state")).toHaveText("Business hours are off: always open.");
    await page.goto("/dashboard/automation");
    await admin.dashboard.waitHydrated();
    for (const rule of [closedRule, pricingRule]) {
      await page.locator(`.rule-row[data-name="${rule}"] button.rule-delete`).click();
      await expect(page.locator(`.rule-row[data-name="${rule}"]`)).toHaveCount(0);
    }
  }
  console.check();
  await admin.context.close();
});

test("an agent reads the rules and tries them, but cannot change them", async ({ browser }) => {
  const agent = await signedIn(browser, AGENT);
  await agent.page.goto("/dashboard/automation");
  await agent.dashboard.waitHydrated();
  await expect(agent.page.locator("form.rule-form")).toHaveCount(0);
  await expect(agent.page.locator("form.try-it")).toBeVisible();
  await agent.page.goto("/dashboard/automation/hours");
  await agent.dashboard.waitHydrated();
  await expect(agent.page.locator("form.hours-form button[type=submit]")).toHaveCount(0);
  // The server function refuses them too.
  const resp = await agent.page.request.post("/api/save_business_hours", {
    headers: { "content-type": "application/json", origin: new URL(agent.page.url()).origin },
    data: { hours: { enabled: true, time_zone: "UTC" } },
  });
  expect(resp.status()).toBe(403);
  await agent.context.close();
});
