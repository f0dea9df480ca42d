import { test, expect } from "@playwright/test";
import { AGENT } from "./global-setup";
import { DashboardPage, WidgetPage, watchConsole } from "./pages";

test("visitor and agent talk live, and the conversation survives a reload", async ({ browser }) => {
  // Two separate browsers' worth of state: the visitor and the agent.
  const visitorContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const visitorPage = await visitorContext.newPage();
  const agentPage = await agentContext.newPage();
  const visitorConsole = watchConsole(visitorPage, "widget");
  const agentConsole = watchConsole(agentPage, "dashboard");

  const dashboard = new DashboardPage(agentPage);
  await dashboard.signIn(AGENT.username, AGENT.password);

  const widget = new WidgetPage(visitorPage);
  await widget.goto("/?from=e2e");
  await widget.open();
  const hello = `Hello from the browser ${Date.now()}`;
  await widget.send(hello);
  await expect(widget.message("customer", hello)).toBeVisible();

  // The list shows the new conversation live, without a reload.
  const row = dashboard.sessionRow(hello);
  await expect(row).toBeVisible();
  await row.locator("a").click();
  await expect(agentPage).toHaveURL(/\/dashboard\/conversations\//);
  await dashboard.waitLive();
  await expect(dashboard.message("customer", hello)).toBeVisible();

  // The customer panel: where the visitor is, with what, and their time.
  const panel = agentPage.locator(".customer-panel");
  await expect(panel.locator(".page-url a")).toHaveAttribute("href", /\/\?from=e2e$/);
  await expect(panel.locator(".page-url a")).toHaveAttribute("rel", /noopener/);
  await expect(panel.locator(".browser")).toHaveText(/^Chrome \d+ on Linux$/);
  await expect(panel.locator(".local-time")).toHaveText(/\(UTC[+-]\d\d:\d\d\)/);
  await expect(panel.locator(".first-seen")).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);

  // A single-page site moves on without a page load: the panel follows,
  // forward (pushState) and back (popstate).
  await visitorPage.evaluate(() => history.pushState({}, "", "/pricing?plan=team"));
  await expect(panel.locator(".page-url a")).toHaveAttribute("href", /\/pricing\?plan=team$/);
  await visitorPage.goBack();
  await expect(panel.locator(".page-url a")).toHaveAttribute("href", /\/\?from=e2e$/);

  // A second visitor message arrives live on the open conversation.
  const more = "Are you there?";
  await widget.send(more);
  await expect(dashboard.message("customer", more)).toBeVisible();

  // The agent's reply arrives live in the widget.
  const reply = "Yes! How can I help?";
  await dashboard.reply(reply);
  await expect(dashboard.message("agent", reply)).toBeVisible();
  await expect(widget.message("agent", reply)).toBeVisible();

  // Untrusted text is shown as text.
  const html = "<b>not bold</b>";
  await widget.send(html);
  await expect(dashboard.message("customer", html)).toBeVisible();
  await expect(agentPage.locator(".msg b")).toHaveCount(0);

  // After a reload the widget resumes the same conversation with its history.
  await visitorPage.reload();
  await widget.open();
  await expect(widget.message("customer", hello)).toBeVisible();
  await expect(widget.message("agent", reply)).toBeVisible();
  await expect(visitorPage.locator(".dc-msg b")).toHaveCount(0);

  // And the dashboard, reloaded, still has it too (server-rendered, then hydrated).
  await agentPage.reload();
  await dashboard.waitHydrated();
  await expect(dashboard.message("agent", reply)).toBeVisible();

  visitorConsole.check();
  agentConsole.check();
  await visitorContext.close();
  await agentContext.close();
});

test("signed-out visitors of the dashboard are sent to sign in", async ({ page }) => {
  // The refused sign-in answers with an error status, which Chromium logs.
  const console = watchConsole(page, "login", /Failed to load resource: the server responded with a status of (401|500)/);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/dashboard\/login$/);
  const dashboard = new DashboardPage(page);
  await dashboard.waitHydrated();
  await page.locator('input[name="username"]').fill(AGENT.username);
  await page.locator('input[name="password"]').fill("wrong password!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("Wrong username or password");
  console.check();
});
