import { test, expect, type APIRequestContext, type Browser } from "@playwright/test";
import { ADMIN, AGENT } from "./global-setup";
import { DashboardPage, WidgetPage, watchConsole } from "./pages";

/** A visitor over the widget's HTTP API: starts a conversation and writes. */
async function visitor(request: APIRequestContext, name: string, email: string, text: string) {
  const started = await request.post("/chat/api/chat/start/", { data: { name, email } });
  expect(started.status()).toBe(200);
  const { customer_id, token } = await started.json();
  await say(request, { customer_id, token }, text);
  return { customer_id: customer_id as string, token: token as string };
}

async function say(request: APIRequestContext, v: { customer_id: string; token: string }, text: string) {
  const sent = await request.post("/chat/api/chat/message/", {
    headers: { authorization: `Bearer ${v.token}` },
    data: { customer_id: v.customer_id, content: text, client_id: `e2e-${Date.now()}-${Math.random()}` },
  });
  expect(sent.status()).toBe(201);
}

async function signedIn(browser: Browser, who: { username: string; password: string }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const dashboard = new DashboardPage(page);
  await dashboard.signIn(who.username, who.password);
  return { context, page, dashboard };
}

test("the home's figures, chart and activity follow a visitor live", async ({ browser }) => {
  const agent = await signedIn(browser, AGENT);
  const console = watchConsole(agent.page, "home");
  const figure = (name: string) => agent.page.locator(`.stat[data-stat="${name}"] .value`);
  await expect(figure("conversations")).toHaveText(/^\d+$/);
  const before = Number(await figure("conversations").textContent());
  const todayBar = agent.page.locator("svg.per-day rect").last();
  const barBefore = Number(await todayBar.getAttribute("data-count"));
  await expect(agent.page.locator("svg.per-day rect")).toHaveCount(14);

  const visitorContext = await browser.newContext();
  const widget = new WidgetPage(await visitorContext.newPage());
  await widget.goto();
  await widget.open();
  const hello = `home figures ${Date.now()}`;
  await widget.send(hello);
  await expect(widget.message("customer", hello)).toBeVisible();

  // No reload: the socket's events bring new figures and the activity.
  await expect(figure("conversations")).toHaveText(String(before + 1));
  await expect(todayBar).toHaveAttribute("data-count", String(barBefore + 1));
  await expect(agent.page.locator(".activity .session-row", { hasText: hello })).toBeVisible();
  expect(Number(await figure("waiting").textContent())).toBeGreaterThan(0);
  console.check();
  await visitorContext.close();
  await agent.context.close();
});

test("inbox filters and search find the right conversations, live", async ({ browser, request }) => {
  const stamp = Date.now();
  const zebra = await visitor(request, `Zoe ${stamp}`, `zoe${stamp}@example.com`, `my zebra${stamp} is lost`);
  await visitor(request, `Walt ${stamp}`, `walt${stamp}@example.com`, `walrus${stamp} question`);

  const agent = await signedIn(browser, AGENT);
  const console = watchConsole(agent.page, "inbox");
  const page = agent.page;
  await page.goto("/dashboard/conversations");
  await agent.dashboard.waitLive();
  const zoe = agent.dashboard.sessionRow(`Zoe ${stamp}`);
  const walt = agent.dashboard.sessionRow(`Walt ${stamp}`);
  await expect(zoe).toBeVisible();
  await expect(walt).toBeVisible();
  await expect(zoe.locator(".unread-badge")).toHaveText("1");

  // Full-text search over messages, and over names and e-mails.
  await page.locator('.inbox-filters input[name="q"]').fill(`zebra${stamp}`);
  await page.locator('.inbox-filters input[name="q"]').press("Enter");
  await expect(page).toHaveURL(new RegExp(`q=zebra${stamp}`));
  await expect(zoe).toBeVisible();
  await expect(walt).toHaveCount(0);
  await page.locator('.inbox-filters input[name="q"]').fill(`walt${stamp}@example.com`);
  await page.locator('.inbox-filters input[name="q"]').press("Enter");
  await expect(walt).toBeVisible();
  await expect(zoe).toHaveCount(0);
  await page.locator('.inbox-filters input[name="q"]').fill("");
  await page.locator('.inbox-filters input[name="q"]').press("Enter");
  await expect(zoe).toBeVisible();

  // Live: a new message moves its conversation to the top and bumps its
  // unread count, without a reload.
  await say(request, zebra, `zebra${stamp} again`);
  await expect(zoe.locator(".unread-badge")).toHaveText("2");
  await expect(page.locator(".session-row").first()).toContainText(`Zoe ${stamp}`);

  // Assigned to me: take Zoe's conversation, then filter.
  await zoe.locator("a").click();
  await expect(page).toHaveURL(/\/dashboard\/conversations\/[0-9a-f-]+$/);
  await agent.dashboard.waitLive();
  await expect(page.locator(".assignee-name")).toHaveText("nobody");
  await page.getByRole("button", { name: "Assign to me" }).click();
  await expect(page.locator(".assignee-name")).toHaveText(AGENT.username);
  await page.goto("/dashboard/conversations?assigned=me");
  await agent.dashboard.waitLive();
  await expect(page.locator('select[name="assigned"]')).toHaveValue("me");
  await expect(zoe).toBeVisible();
  await expect(zoe.locator(".assignee")).toHaveText(AGENT.username);
  await expect(walt).toHaveCount(0);
  // Opening it read it: the unread filter leaves it out now.
  await page.locator('select[name="assigned"]').selectOption("all");
  await page.locator('input[name="unread"]').check();
  await expect(page).toHaveURL(/unread=true/);
  await expect(walt).toBeVisible();
  await expect(zoe).toHaveCount(0);
  console.check();
  await agent.context.close();
});

test("a private note reaches agents, never the visitor", async ({ browser }) => {
  // Agents first: with nobody online the widget offers the offline form.
  const first = await signedIn(browser, AGENT);
  const second = await signedIn(browser, ADMIN);
  const visitorContext = await browser.newContext();
  const visitorPage = await visitorContext.newPage();
  const widget = new WidgetPage(visitorPage);
  await widget.goto();
  await widget.open();
  const hello = `note test ${Date.now()}`;
  await widget.send(hello);
  await expect(widget.message("customer", hello)).toBeVisible();

  for (const a of [first, second]) {
    await a.page.goto("/dashboard/conversations");
    await a.dashboard.sessionRow(hello).locator("a").click();
    await a.dashboard.waitLive();
  }
  const secret = `private note ${Date.now()}`;
  await first.page.locator('form.note-form textarea').fill(secret);
  await first.page.getByRole("button", { name: "Add note" }).click();
  await expect(first.page.locator(".note", { hasText: secret })).toBeVisible();
  // The other agent sees it live.
  await expect(second.page.locator(".note", { hasText: secret })).toBeVisible();

  // The visitor: not in the widget, not after a reload, not in the history.
  const reply = `a real reply ${Date.now()}`;
  await first.dashboard.reply(reply);
  await expect(widget.message("agent", reply)).toBeVisible();
  await expect(visitorPage.locator(".dc-msg", { hasText: secret })).toHaveCount(0);
  await visitorPage.reload();
  await widget.open();
  await expect(widget.message("agent", reply)).toBeVisible();
  await expect(visitorPage.locator(".dc-msg", { hasText: secret })).toHaveCount(0);
  const stored = await visitorPage.evaluate(() => JSON.stringify(localStorage));
  const creds = Object.values(JSON.parse(stored))
    .map((v) => {
      try {
        return JSON.parse(String(v));
      } catch {
        return null;
      }
    })
    .find((v) => v && typeof v === "object" && v.token && v.customer_id);
  expect(creds, "the widget keeps its conversation's token").toBeTruthy();
  const history = await visitorPage.request.get(
    `/chat/api/chat/${encodeURIComponent(creds.customer_id)}/history/`,
    { headers: { authorization: `Bearer ${creds.token}` } },
  );
  expect(history.status()).toBe(200);
  const text = await history.text();
  expect(text).toContain(reply);
  expect(text).not.toContain(secret);

  await visitorContext.close();
  await first.context.close();
  await second.context.close();
});

test("the seed's addresses: /dashboard/ and /admin/", async ({ browser, page }) => {
  // Signed out: both lead to the sign-in page.
  await page.goto("/dashboard/");
  await expect(page).toHaveURL(/\/dashboard\/login$/);
  await page.goto("/admin/");
  await expect(page).toHaveURL(/\/dashboard\/login$/);

  const admin = await signedIn(browser, ADMIN);
  await admin.page.goto("/dashboard/");
  await expect(admin.page).toHaveURL(/\/dashboard$/);
  await expect(admin.page.locator("h1")).toHaveText("Home");
  await admin.page.goto("/admin/");
  await expect(admin.page).toHaveURL(/\/dashboard\/admin$/);
  await expect(admin.page.locator(`.account-row[data-username="${AGENT.username}"]`)).toBeVisible();
  await admin.page.goto("/dashboard/conversations/");
  await expect(admin.page).toHaveURL(/\/dashboard\/conversations$/);
  await admin.context.close();
});

test("only admins manage the team; a deactivated agent is signed out", async ({ browser }) => {
  // An agent is refused the page and its server function.
  const agent = await signedIn(browser, AGENT);
  const refusals = watchConsole(agent.page, "team", /status of 403/);
  await agent.page.goto("/dashboard/admin");
  await expect(agent.page.getByRole("alert")).toContainText("Only admins");
  const refused = await agent.page.request.post("/api/list_accounts", {
    headers: { origin: new URL(agent.page.url()).origin },
  });
  expect(refused.status()).toBe(403);
  refusals.check();
  await agent.context.close();

  // The admin creates an account…
  const admin = await signedIn(browser, ADMIN);
  await admin.page.goto("/dashboard/admin");
  await admin.dashboard.waitHydrated();
  const username = `temp${Date.now()}`;
  const password = "temporary password 123";
  const form = admin.page.locator("form.new-account");
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="display_name"]').fill("Temp");
  await form.locator('input[name="password"]').fill(password);
  await form.getByRole("button", { name: "Create account" }).click();
  const row = admin.page.locator(`.account-row[data-username="${username}"]`);
  await expect(row).toHaveAttribute("data-active", "true");

  // …who signs in; deactivated, their live socket closes and they are
  // sent to sign in again.
  const temp = await signedIn(browser, { username, password });
  await row.getByRole("button", { name: "Deactivate" }).click();
  await expect(row).toHaveAttribute("data-active", "false");
  await expect(temp.page).toHaveURL(/\/dashboard\/login$/, { timeout: 15_000 });
  await temp.page.goto("/dashboard");
  await expect(temp.page).toHaveURL(/\/dashboard\/login$/);
  await temp.context.close();
  await admin.context.close();
});

test("the inbox and home on a phone", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const dashboard = new DashboardPage(page);
  await dashboard.signIn(AGENT.username, AGENT.password);
  await expect(page.locator(".stat").first()).toBeVisible();
  await page.goto("/dashboard/conversations");
  await dashboard.waitLive();
  // Nothing wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expect(page.locator('.inbox-filters input[name="q"]')).toBeVisible();
  await context.close();
});

test("canned responses: admins save them, agents type /shortcut", async ({ browser, request }) => {
  const stamp = Date.now();
  const shortcut = `ty${stamp}`;
  const text = `Thank you for waiting ${stamp}!`;
  const admin = await signedIn(browser, ADMIN);
  await admin.page.goto("/dashboard/canned");
  await admin.dashboard.waitHydrated();
  const form = admin.page.locator("form.canned-form");
  await form.locator('input[name="shortcut"]').fill(`/${shortcut}`);
  await form.locator('textarea[name="content"]').fill(text);
  await form.getByRole("button", { name: "Save" }).click();
  await expect(admin.page.locator(`.canned-row[data-shortcut="${shortcut}"]`)).toContainText(text);
  await admin.context.close();

  const who = `Canned ${stamp}`;
  await visitor(request, who, `canned${stamp}@example.com`, "hello, anyone?");
  const agent = await signedIn(browser, AGENT);
  const console = watchConsole(agent.page, "canned");
  await agent.page.goto("/dashboard/canned");
  await expect(agent.page.locator(`.canned-row[data-shortcut="${shortcut}"]`)).toBeVisible();
  await expect(agent.page.locator("form.canned-form")).toHaveCount(0);

  await agent.page.goto("/dashboard/conversations");
  await agent.dashboard.sessionRow(who).locator("a").click();
  await agent.dashboard.waitLive();
  const box = agent.page.locator("form.reply textarea");
  await box.click();
  await box.pressSequentially(`/ty${stamp}`.slice(0, 8));
  await expect(agent.page.locator(".canned-suggestion", { hasText: `/${shortcut}` })).toBeVisible();
  await box.press("Tab");
  await expect(box).toHaveValue(text);
  await box.press("Enter");
  await expect(agent.dashboard.message("agent", text)).toBeVisible();
  await expect(box).toHaveValue("");
  console.check();
  await agent.context.close();
});

test("keyboard shortcuts and the unread count in the title", async ({ browser, request }) => {
  const stamp = Date.now();
  await visitor(request, `Keys A ${stamp}`, `ka${stamp}@example.com`, "first");
  await visitor(request, `Keys B ${stamp}`, `kb${stamp}@example.com`, "second");
  const agent = await signedIn(browser, AGENT);
  const console = watchConsole(agent.page, "keys");
  const page = agent.page;
  await expect(page).toHaveTitle(/^\(\d+\) DEFMIS Chat$/);
  await page.goto("/dashboard/conversations");
  await agent.dashboard.waitLive();
  await expect(page).toHaveTitle(/^\(\d+\) DEFMIS Chat$/);
  const rows = page.locator(".session-row");
  await expect(rows.first()).toContainText(`Keys B ${stamp}`);

  await page.keyboard.press("j");
  await expect(page.locator(".session-row.selected")).toContainText(`Keys B ${stamp}`);
  await page.keyboard.press("j");
  await expect(page.locator(".session-row.selected")).toContainText(`Keys A ${stamp}`);
  await page.keyboard.press("k");
  await expect(page.locator(".session-row.selected")).toContainText(`Keys B ${stamp}`);
  await page.keyboard.press("e");
  await expect(agent.dashboard.sessionRow(`Keys B ${stamp}`)).toHaveAttribute("data-status", "closed");
  await page.keyboard.press("?");
  await expect(page.locator(".shortcut-help")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.locator(".shortcut-help")).toBeHidden();
  await page.keyboard.press("/");
  await expect(page.locator('.inbox-filters input[name="q"]')).toBeFocused();
  console.check();
  await agent.context.close();
});

test("collision and presence: who else is viewing and typing, and who is online", async ({ browser, request }) => {
  const stamp = Date.now();
  const who = `Collide ${stamp}`;
  await visitor(request, who, `collide${stamp}@example.com`, "two of you?");
  const first = await signedIn(browser, AGENT);
  const second = await signedIn(browser, ADMIN);
  const console = watchConsole(first.page, "collision");

  // The second agent opens the conversation; the first sees it on the row.
  await second.page.goto("/dashboard/conversations");
  await second.dashboard.sessionRow(who).locator("a").click();
  await second.dashboard.waitLive();
  await first.page.goto("/dashboard/conversations");
  await first.dashboard.waitLive();
  await expect(first.dashboard.sessionRow(who).locator(".viewers")).toHaveText(`${ADMIN.username} viewing`);

  // In the conversation: "Also viewing", and the other's typing.
  await first.dashboard.sessionRow(who).locator("a").click();
  await first.dashboard.waitLive();
  await expect(first.page.locator(".collision .viewers")).toHaveText(`Also viewing: ${ADMIN.username}`);
  await second.page.locator("form.reply textarea").pressSequentially("let me take this");
  await expect(first.page.locator(".collision .agent-typing")).toHaveText(`${ADMIN.username} is typing…`);

  // The home's team: online while a page of theirs is open, then offline.
  await first.page.goto("/dashboard");
  await first.dashboard.waitLive();
  const other = first.page.locator(`.agent-presence[data-agent="${ADMIN.username}"]`);
  await expect(other).toHaveAttribute("data-status", "online");
  await expect(first.page.locator(`.agent-presence[data-agent="${AGENT.username}"]`)).toHaveAttribute("data-status", "online");
  await second.context.close();
  await expect(other).toHaveAttribute("data-status", "offline");
  console.check();
  await first.context.close();
});

test("API tokens: shown once, last use listed, revoked", async ({ browser, request }) => {
  const admin = await signedIn(browser, ADMIN);
  const console = watchConsole(admin.page, "tokens");
  await admin.page.goto("/dashboard/tokens");
  await admin.dashboard.waitHydrated();
  const name = `e2e-${Date.now()}`;
  const form = admin.page.locator("form.new-token");
  await form.locator('input[name="name"]').fill(name);
  await form.locator('select[name="username"]').selectOption(AGENT.username);
  await form.getByRole("button", { name: "Create token" }).click();
  await expect(admin.page.locator(".new-token-value")).toBeVisible();
  const value = (await admin.page.locator(".new-token-value").textContent())?.trim() ?? "";
  expect(value.length).toBeGreaterThan(20);
  const row = admin.page.locator(`.token-row[data-name="${name}"]`);
  await expect(row.locator(".last-used")).toHaveText("never");

  const used = await request.get("/chat/api/admin/sessions/", { headers: { authorization: `Bearer ${value}` } });
  expect(used.status()).toBe(200);
  await admin.page.reload();
  await admin.dashboard.waitHydrated();
  await expect(row.locator(".last-used")).not.toHaveText("never");
  // Never shown again: after a reload the place for it is hidden and empty.
  await expect(admin.page.locator(".new-token-value")).toBeHidden();
  await expect(admin.page.locator(".new-token-value")).toBeEmpty();

  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row).toHaveCount(0);
  const refused = await request.get("/chat/api/admin/sessions/", { headers: { authorization: `Bearer ${value}` } });
  expect(refused.status()).toBe(401);
  console.check();
  await admin.context.close();
});

test("earlier messages load on scrolling up, and the reader keeps their place", async ({ browser, request }) => {
  const stamp = Date.now();
  const started = await request.post("/chat/api/chat/start/", { data: { name: `Long ${stamp}` } });
  expect(started.status()).toBe(200);
  const { session_id } = await started.json();
  const agent = await signedIn(browser, AGENT);
  const console = watchConsole(agent.page, "earlier");
  const origin = new URL(agent.page.url()).origin;
  // 70 replies: more than the 50 a conversation opens with.
  for (let i = 1; i <= 70; i++) {
    const sent = await agent.page.request.post("/api/send_reply", {
      headers: { origin },
      form: { session_id, content: `Reply ${i} of ${stamp}`, client_id: `earlier-${stamp}-${i}` },
    });
    expect(sent.status()).toBe(200);
  }
  await agent.page.goto(`/dashboard/conversations/${session_id}`);
  await agent.dashboard.waitLive();
  const msgs = agent.page.locator("li.msg[data-seq]");
  await expect(msgs).toHaveCount(50);
  await expect(agent.page.locator("button.load-earlier")).toBeVisible();

  // Read from the bottom, then scroll back up to the top.
  await agent.page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  const firstSeq = await msgs.first().getAttribute("data-seq");
  const topOf = (seq: string | null) =>
    agent.page.evaluate((seq) => document.querySelector(`li.msg[data-seq="${seq}"]`)!.getBoundingClientRect().top, seq);
  const before = await agent.page.evaluate((seq) => {
    window.scrollTo(0, 0);
    return document.querySelector(`li.msg[data-seq="${seq}"]`)!.getBoundingClientRect().top;
  }, firstSeq);
  await expect(msgs).toHaveCount(70);
  await expect(agent.page.locator("li.msg", { hasText: `Reply 1 of ${stamp}` })).toHaveCount(1);
  await expect(agent.page.locator("button.load-earlier")).toBeHidden();
  // The message that was first is where it was on screen: the page did
  // not jump to the oldest ones.
  await expect.poll(async () => Math.abs((await topOf(firstSeq)) - before)).toBeLessThan(60);
  console.check();
  await agent.context.close();
});

test("widget settings: a live preview, then every widget without a restart", async ({ browser }) => {
  // Agents are refused the screen and its server function.
  const agent = await signedIn(browser, AGENT);
  const refusals = watchConsole(agent.page, "settings", /status of 403/);
  await agent.page.goto("/dashboard/settings");
  await expect(agent.page.getByRole("alert")).toContainText("Only admins");
  refusals.check();
  await agent.context.close();

  const admin = await signedIn(browser, ADMIN);
  const console = watchConsole(admin.page, "settings");
  await admin.page.goto("/dashboard/settings");
  await admin.dashboard.waitHydrated();
  const form = admin.page.locator("form.widget-settings");
  const title = form.locator('input[name="title"]');
  const original = await title.inputValue();
  const stamp = Date.now();
  const preview = admin.page.frameLocator("iframe.widget-preview");
  await expect(preview.locator(".dc-title")).toHaveText(original);

  // Unsaved values show in the preview, not on the site.
  await title.fill(`Acme ${stamp}`);
  await form.locator('input[name="primary_color"]').fill("#16a34a");
  await form.locator('select[name="position"]').selectOption("bottom-left");
  await expect(preview.locator(".dc-title")).toHaveText(`Acme ${stamp}`);
  await expect(preview.locator("#defmis-chat-root")).toHaveAttribute("data-position", "bottom-left");
  const unsaved = await admin.page.request.get("/chat/api/widget/config/");
  expect((await unsaved.json()).title).toBe(original);

  // "No agent online" with the offline form.
  await admin.page.getByLabel("Preview as").selectOption("offline");
  await expect(preview.locator(".dc-offline-form")).toBeVisible();

  // The snippet is there to copy.
  await expect(admin.page.locator(".snippet pre code").first()).toContainText("/static/js/chat-widget.js");

  // Files: a smaller largest size and one type fewer, within the server's limits.
  const maxMb = form.locator('input[name="attachment_max_mb"]');
  await expect(maxMb).toHaveValue("10");
  await maxMb.fill("2");
  await form.locator('input[name="attachment_types"][value="zip"]').uncheck();

  // Saved: a visitor's page has it at once.
  await form.getByRole("button", { name: "Save" }).click();
  await expect(admin.page.locator(".notice")).toContainText("Saved");
  await expect(admin.page.locator(".saved-at")).toContainText("Last saved");
  const visitorContext = await browser.newContext();
  const widget = new WidgetPage(await visitorContext.newPage());
  await widget.goto();
  await widget.launcher().click();
  await expect(widget.page.locator(".dc-title")).toHaveText(`Acme ${stamp}`);
  await expect(widget.page.locator("#defmis-chat-root")).toHaveAttribute("data-position", "bottom-left");
  const colour = await widget.page
    .locator("#defmis-chat-root")
    .evaluate((el) => (el as HTMLElement).style.getPropertyValue("--dc-p"));
  expect(colour).toBe("#16a34a");
  await visitorContext.close();
  const files = (await (await admin.page.request.get("/chat/api/widget/config/")).json()).attachments;
  expect(files.max_bytes).toBe(2 * 1024 * 1024);
  expect(files.types).not.toContain("zip");
  expect(files.types).toContain("png");

  // Put the look back for the other tests.
  await title.fill(original);
  await form.locator('input[name="primary_color"]').fill("#2563eb");
  await form.locator('select[name="position"]').selectOption("bottom-right");
  await maxMb.fill("10");
  await form.locator('input[name="attachment_types"][value="zip"]').check();
  await form.getByRole("button", { name: "Save" }).click();
  await expect(admin.page.locator(".notice")).toContainText("Saved");
  console.check();
  await admin.context.close();
});

test("my account, and an admin's password reset", async ({ browser }) => {
  const admin = await signedIn(browser, ADMIN);
  await admin.page.goto("/dashboard/admin");
  await admin.dashboard.waitHydrated();
  const username = `acct${Date.now()}`;
  const form = admin.page.locator("form.new-account");
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill("first password 123");
  await form.getByRole("button", { name: "Create account" }).click();
  const row = admin.page.locator(`.account-row[data-username="${username}"]`);
  await expect(row).toBeVisible();

  // They forgot it: the admin sets a new one.
  await row.getByRole("button", { name: "Reset password" }).click();
  const reset = admin.page.locator("form.reset-password");
  await reset.locator('input[name="password"]').fill("second password 456");
  await reset.getByRole("button", { name: "Set password" }).click();
  await expect(admin.page.locator(".notice")).toContainText(`${username} has a new password`);
  await admin.context.close();

  const me = await signedIn(browser, { username, password: "second password 456" });
  const console = watchConsole(me.page, "account");
  await me.page.goto("/dashboard/account");
  await me.dashboard.waitHydrated();
  const name = me.page.locator('form.display-name input[name="display_name"]');
  await name.fill("Dana from Support");
  await me.page.getByRole("button", { name: "Save name" }).click();
  await expect(me.page.locator(".notice")).toContainText("visitors see this name");
  await me.page.reload();
  await expect(name).toHaveValue("Dana from Support");

  // Signed in on a second device, then out everywhere.
  const second = await signedIn(browser, { username, password: "second password 456" });
  await me.dashboard.waitHydrated();
  await me.page.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(me.page).toHaveURL(/\/dashboard\/login$/);
  await expect(second.page).toHaveURL(/\/dashboard\/login$/, { timeout: 15_000 });
  console.check();
  await second.context.close();
  await me.context.close();
});

test("signing out ends this session and returns to the sign-in page", async ({ browser }) => {
  const agent = await signedIn(browser, AGENT);
  const console = watchConsole(agent.page, "sign out");
  await agent.page.goto("/dashboard/conversations");
  await agent.dashboard.waitHydrated();
  // A plain form post: the server answers with a redirect.
  await agent.page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(agent.page).toHaveURL(/\/dashboard\/login$/);
  // The session is over: a dashboard page asks to sign in again.
  await agent.page.goto("/dashboard/conversations");
  await expect(agent.page).toHaveURL(/\/dashboard\/login/);
  const answer = await agent.page.request.post("/api/current_agent", {
    headers: { Origin: new URL(agent.page.url()).origin },
  });
  expect(await answer.json()).toBeNull();
  console.check();
  await agent.context.close();
});

test("the API reference lists every operation and schema", async ({ browser }) => {
  const agent = await signedIn(browser, AGENT);
  const console = watchConsole(agent.page, "api");
  await agent.page.goto("/dashboard/api");
  const start = agent.page.locator('.operation[data-method="POST"][data-path="/chat/api/chat/start/"]');
  await expect(start).toBeVisible();
  await expect(start).toContainText("StartResponse");
  await expect(agent.page.locator('.operation[data-method="PUT"][data-path="/chat/api/admin/widget-settings/"]')).toBeVisible();
  await expect(agent.page.locator('.schema[data-name="ErrorBody"]')).toBeVisible();
  const doc = await agent.page.request.get("/chat/api/openapi.json");
  const paths = Object.values((await doc.json()).paths as Record<string, object>);
  const operations = paths.reduce((n: number, item) => n + Object.keys(item).length, 0);
  await expect(agent.page.locator(".operation")).toHaveCount(operations);
  console.check();
  await agent.context.close();
});

test("each agent page and each group of other pages is its own wasm chunk, fetched when first used", async ({ browser }) => {
  const wasmRequests = (page: import("@playwright/test").Page) => {
    const seen: string[] = [];
    page.on("request", (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith("/pkg/") && path.endsWith(".wasm")) seen.push(path);
    });
    return (split: string) => seen.some((p) => p.includes(`/split_${split}_`));
  };

  // Sign-in (its own group), then the home (its own chunk): neither the
  // inbox's, a conversation's nor any admin page's chunk is fetched.
  const first = await browser.newContext();
  const page = await first.newPage();
  const pageConsole = watchConsole(page, "dashboard");
  const fetched = wasmRequests(page);
  const dashboard = new DashboardPage(page);
  await dashboard.signIn(ADMIN.username, ADMIN.password);
  expect(fetched("sign_in_pages")).toBe(true);
  expect(fetched("home_page")).toBe(true);
  expect(fetched("inbox_page")).toBe(false);
  expect(fetched("conversation_page")).toBe(false);
  for (const group of ["settings_page", "people_pages", "reference_pages"]) expect(fetched(group)).toBe(false);
  // Moving to an admin page in the page (no reload) fetches its chunk, and
  // only its own: the widget settings are a chunk, the team, tokens and
  // account pages a group, canned responses and the API reference another.
  await page.locator("nav").getByRole("link", { name: "Widget" }).click();
  await expect(page).toHaveURL(/\/dashboard\/settings$/);
  await expect(page.locator(".snippet pre code").first()).toContainText("DEFMISChat");
  expect(fetched("settings_page")).toBe(true);
  expect(fetched("people_pages")).toBe(false);
  await page.locator("nav").getByRole("link", { name: "Team" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin$/);
  await expect(page.locator("form.new-account")).toBeVisible();
  expect(fetched("people_pages")).toBe(true);
  expect(fetched("reference_pages")).toBe(false);
  // Automated responses are two groups of their own: the rules, then
  // business hours with the log.
  expect(fetched("rules_page")).toBe(false);
  await page.locator("nav").getByRole("link", { name: "Automation" }).click();
  await expect(page).toHaveURL(/\/dashboard\/automation$/);
  await expect(page.locator("form.try-it")).toBeVisible();
  expect(fetched("rules_page")).toBe(true);
  expect(fetched("hours_and_log_pages")).toBe(false);
  await page.locator("nav.tabs").getByRole("link", { name: "Business hours" }).click();
  await expect(page).toHaveURL(/\/dashboard\/automation\/hours$/);
  await expect(page.locator("form.hours-form")).toBeVisible();
  expect(fetched("hours_and_log_pages")).toBe(true);
  pageConsole.check();

  // A first visit straight to a conversation list: server-rendered, then
  // hydrated with the main module and the inbox's chunk only.
  const second = await browser.newContext({ storageState: await first.storageState() });
  const direct = await second.newPage();
  const directConsole = watchConsole(direct, "dashboard");
  const directFetched = wasmRequests(direct);
  await direct.goto("/dashboard/conversations");
  await new DashboardPage(direct).waitHydrated();
  await new DashboardPage(direct).waitLive();
  expect(directFetched("inbox_page")).toBe(true);
  expect(directFetched("home_page")).toBe(false);
  expect(directFetched("conversation_page")).toBe(false);
  for (const group of ["settings_page", "people_pages", "reference_pages"]) expect(directFetched(group)).toBe(false);
  expect(directFetched("sign_in_pages")).toBe(false);
  for (const group of ["rules_page", "hours_and_log_pages"]) expect(directFetched(group)).toBe(false);
  directConsole.check();
  await first.close();
  await second.close();
});
