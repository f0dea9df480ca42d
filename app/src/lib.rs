//! The agent dashboard of DEFMIS Chat: Leptos routes, components and server
//! functions, rendered on the server and hydrated in the browser.
//!
//! # Layout
//! - [`types`]: payloads and ids shared with the server's JSON API.
//! - [`error`]: [`error::ErrorCode`] and [`error::ApiError`], for every error.
//! - [`protocol`]: every socket frame, both directions, both sockets.
//! - [`api`]: server functions, and (with `ssr`) the [`api::Backend`] trait
//!   the server implements, so this crate never touches the database.
//! - [`live`]: the live socket, browser only.
//! - `pages`: login, first-run setup, the home, the inbox, one
//!   conversation, the team (admins).

// The dashboard's views are deeply nested types; the release build of the
// hydrate wasm needs more than the default 128 levels to lay them out.
#![recursion_limit = "256"]

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

pub mod api;
pub mod attention;
pub mod error;
pub mod live;
mod pages;
pub mod protocol;
pub mod types;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <link rel="icon" href="data:," />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Only our own scripts and wasm run on dashboard pages: the inline
/// hydration scripts Leptos writes carry this response's nonce.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/defmis-chat.css" />
        <Title text="DEFMIS Chat" />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/dashboard") view=pages::HomePage ssr=SsrMode::Async />
                <Route
                    path=path!("/dashboard/conversations")
                    view=pages::SessionsPage
                    ssr=SsrMode::Async
                />
                <Route path=path!("/dashboard/admin") view=pages::AdminPage ssr=SsrMode::Async />
                <Route path=path!("/dashboard/canned") view=pages::CannedPage ssr=SsrMode::Async />
                <Route path=path!("/dashboard/tokens") view=pages::TokensPage ssr=SsrMode::Async />
                <Route path=path!("/dashboard/settings") view=pages::SettingsPage ssr=SsrMode::Async />
                <Route path=path!("/dashboard/account") view=pages::AccountPage ssr=SsrMode::Async />
                <Route path=path!("/dashboard/api") view=pages::ApiDocsPage ssr=SsrMode::Async />
                <Route path=path!("/dashboard/login") view=pages::LoginPage ssr=SsrMode::Async />
                <Route path=path!("/dashboard/setup") view=pages::SetupPage ssr=SsrMode::Async />
                <Route
                    path=path!("/dashboard/conversations/:id")
                    view=pages::ConversationPage
                    ssr=SsrMode::Async
                />
            </Routes>
        </Router>
    }
}
