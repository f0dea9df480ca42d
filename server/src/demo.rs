//! `/`: a plain demo page that embeds the widget exactly as a website owner
//! would, with the seed's snippet.

use axum::response::Html;

#[utoipa::path(get, path = "/", tag = "operations", responses((status = 200, description = "The demo page, embedding the widget with the seed's snippet", content_type = "text/html")))]
pub async fn page() -> Html<&'static str> {
    Html(DEMO)
}

const DEMO: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DEFMIS Chat demo</title>
<link rel="icon" href="data:,">
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem; color: #1f2937; }
  code, pre { background: #f3f4f6; border-radius: 4px; }
  pre { padding: 1rem; overflow-x: auto; }
</style>
</head>
<body>
<h1>DEFMIS Chat demo</h1>
<p>This page embeds the chat widget the way your website would. Open the bubble at the bottom right and say hello; agents answer from the <a href="/dashboard">dashboard</a>.</p>
<p>To add the widget to your site, paste this before <code>&lt;/body&gt;</code>:</p>
<pre><code>&lt;script&gt;
  window.DEFMISChat = {
    apiUrl: 'https://chat.example.com',
    customerId: null,
    customerName: '',
    customerEmail: ''
  };
&lt;/script&gt;
&lt;script src="https://chat.example.com/static/js/chat-widget.js"&gt;&lt;/script&gt;</code></pre>
<script>
  window.DEFMISChat = {
    apiUrl: window.location.origin,
    customerId: null,
    customerName: '',
    customerEmail: ''
  };
</script>
<script src="/static/js/chat-widget.js"></script>
</body>
</html>
"#;
