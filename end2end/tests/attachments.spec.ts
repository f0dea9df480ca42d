import { test, expect, type Page, type JSHandle } from "@playwright/test";
import { ADMIN, AGENT } from "./global-setup";
import { DashboardPage, WidgetPage, watchConsole } from "./pages";

/** A 40 × 30 red PNG. */
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAACgAAAAeCAIAAADRv8uKAAAAK0lEQVR4nO3NMQ0AAAgDsMmZfz2IQQYcTfo3056IWCwWi8VisVgsFov/xgu6J36M1viz4gAAAABJRU5ErkJggg==";

/** A DataTransfer in the page holding one file (bytes as base64). */
function files(page: Page, name: string, type: string, base64: string): Promise<JSHandle<DataTransfer>> {
  return page.evaluateHandle(
    ([name, type, base64]) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type }));
      return dt;
    },
    [name, type, base64] as const,
  );
}

/** Pastes a file into a textarea (in the widget's shadow root when
 *  `inWidget`), as the browser does for a copied file or screenshot. */
async function paste(page: Page, selector: string, name: string, type: string, base64: string, inWidget: boolean) {
  await page.evaluate(
    ([selector, name, type, base64, inWidget]) => {
      const scope: ParentNode = inWidget ? document.querySelector("#defmis-chat-root")!.shadowRoot! : document;
      const target = scope.querySelector(selector)!;
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type }));
      target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
    },
    [selector, name, type, base64, inWidget] as const,
  );
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

test("files both ways: drop and paste in the widget, the agent sees the thumbnail live, downloads, and attaches", async ({
  browser,
}) => {
  const visitorContext = await browser.newContext();
  const agentContext = await browser.newContext({ acceptDownloads: true });
  const visitorPage = await visitorContext.newPage();
  const agentPage = await agentContext.newPage();
  const visitorConsole = watchConsole(visitorPage, "widget");
  const agentConsole = watchConsole(agentPage, "dashboard");

  const dashboard = new DashboardPage(agentPage);
  await dashboard.signIn(AGENT.username, AGENT.password);

  const widget = new WidgetPage(visitorPage);
  await widget.goto("/?from=attachments");
  await widget.open();
  const hello = `Files coming ${Date.now()}`;
  await widget.send(hello);
  await expect(widget.message("customer", hello)).toBeVisible();
  // The attachment module arrived with the panel: the attach button.
  await expect(visitorPage.locator("button.dc-attach")).toBeVisible();

  // The agent has the conversation open before any file is sent.
  await dashboard.sessionRow(hello).locator("a").click();
  await dashboard.waitLive();
  await expect(dashboard.message("customer", hello)).toBeVisible();

  // Drag and drop an image onto the widget.
  const panel = visitorPage.locator(".dc-panel");
  const image = await files(visitorPage, "red square.png", "image/png", PNG);
  await panel.dispatchEvent("dragenter", { dataTransfer: image });
  await expect(visitorPage.locator(".dc-dropzone")).toBeVisible();
  await panel.dispatchEvent("drop", { dataTransfer: image });
  await expect(visitorPage.locator(".dc-dropzone")).toBeHidden();
  const shown = visitorPage.locator('.dc-msg[data-sender="customer"][data-seq] img.dc-thumb');
  await expect(shown).toBeVisible();
  await expect(shown).toHaveAttribute("alt", "red square.png");
  await expect.poll(() => shown.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  // The bubble in flight is gone: one bubble for the file.
  await expect(visitorPage.locator(".dc-msg[data-upload]")).toHaveCount(0);

  // The agent sees the thumbnail live, without a reload, and it loads.
  const thumb = agentPage.locator('.msg[data-sender="customer"] img.attachment-thumb');
  await expect(thumb).toBeVisible();
  await expect(thumb).toHaveAttribute("alt", "red square.png");
  await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(agentPage.locator(".attachment-image")).toHaveAttribute("href", /\/chat\/api\/attachments\/.+signature=/);

  // Paste a text file into the widget's message box.
  const notes = "Order 1234\nDelivered to the wrong address.\n";
  await paste(visitorPage, ".dc-input", "notes.txt", "text/plain", b64(notes), true);
  await expect(visitorPage.locator(".dc-msg[data-seq] .dc-card", { hasText: "notes.txt" })).toBeVisible();
  const card = agentPage.locator(".msg .attachment-card", { hasText: "notes.txt" });
  await expect(card).toBeVisible();

  // The agent downloads it: the same bytes, under its name.
  const [download] = await Promise.all([agentPage.waitForEvent("download"), card.click()]);
  expect(download.suggestedFilename()).toBe("notes.txt");
  const chunks: Buffer[] = [];
  for await (const chunk of (await download.createReadStream()) as AsyncIterable<Buffer>) chunks.push(chunk);
  expect(Buffer.concat(chunks).toString()).toBe(notes);

  // A type the site does not accept is refused before it is sent.
  const svg = await files(visitorPage, "evil.svg", "image/svg+xml", b64("<svg onload=alert(1)></svg>"));
  await panel.dispatchEvent("drop", { dataTransfer: svg });
  const refused = visitorPage.locator('.dc-msg[data-upload][data-state="failed"]', { hasText: "evil.svg" });
  await expect(refused.locator(".dc-err")).toHaveText(/cannot be sent/);

  // The agent attaches a PDF from the file picker: the visitor gets it live.
  const pdf = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
  await agentPage.locator("input.attach-input").setInputFiles({
    name: "invoice.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from(pdf),
  });
  await expect(dashboard.message("agent", "invoice.pdf").locator(".attachment-card")).toBeVisible();
  await expect(agentPage.locator(".uploads")).toBeHidden();
  await expect(visitorPage.locator('.dc-msg[data-sender="agent"][data-seq] .dc-card', { hasText: "invoice.pdf" })).toBeVisible();

  // And drops an image on the thread, which the visitor sees as a thumbnail.
  const thread = agentPage.locator(".thread");
  const agentImage = await files(agentPage, "from agent.png", "image/png", PNG);
  await thread.dispatchEvent("dragover", { dataTransfer: agentImage });
  await expect(thread).toHaveClass(/dragging/);
  await thread.dispatchEvent("drop", { dataTransfer: agentImage });
  await expect(thread).not.toHaveClass(/dragging/);
  await expect(agentPage.locator('.msg[data-sender="agent"] img.attachment-thumb')).toBeVisible();
  await expect(visitorPage.locator('.dc-msg[data-sender="agent"] img.dc-thumb')).toBeVisible();

  // After a reload both sides still show the files, with fresh links.
  await visitorPage.reload();
  await widget.open();
  await expect(visitorPage.locator(".dc-msg[data-seq] img.dc-thumb")).toHaveCount(2);
  await agentPage.reload();
  await dashboard.waitLive();
  await expect(agentPage.locator(".msg img.attachment-thumb")).toHaveCount(2);
  await expect(agentPage.locator(".msg .attachment-card")).toHaveCount(2);

  // Deleting is for admins: an agent has no button for it.
  await expect(agentPage.locator("button.delete-conversation")).toHaveCount(0);
  const adminContext = await browser.newContext();
  const adminPage = await adminContext.newPage();
  const admin = new DashboardPage(adminPage);
  await admin.signIn(ADMIN.username, ADMIN.password);
  await adminPage.goto(agentPage.url());
  await admin.waitLive();
  adminPage.once("dialog", (d) => d.accept());
  await adminPage.locator("button.delete-conversation").click();
  await expect(adminPage).toHaveURL(/\/dashboard\/conversations$/);
  await expect(admin.sessionRow(hello)).toHaveCount(0);
  // The agent who had it open is told at once; the visitor's widget
  // forgets it (its files with it) and is ready for a new conversation.
  await expect(agentPage.locator(".deleted-notice")).toBeVisible();
  await expect(visitorPage.locator(".dc-msg[data-seq]")).toHaveCount(0);
  await expect
    .poll(() => visitorPage.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("defmis-chat:")).length))
    .toBe(0);

  visitorConsole.check();
  agentConsole.check();
  await adminContext.close();
  await visitorContext.close();
  await agentContext.close();
});
