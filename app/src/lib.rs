//! The agent dashboard of DEFMIS Chat: Leptos routes, components and server
//! functions, rendered on the server and hydrated in the browser.
//!
//! # Layout
//! - [`types`]: payloads and ids shared with the server's JSON API.
//! - [`error`]: [`error::ErrorCode`] and [`error::ApiError`], for every error.
//! - [`automation`]: automated responses' rules, business hours, log.
//! - [`protocol`]: every socket frame, both directions, both sockets.
//! - [`api`]: server functions, and (with `ssr`) the [`api::Backend`] trait
//!   the server implements, so this crate never touches the database.
//! - [`live`]: the live socket, browser only.
//! - [`sort`]: stable sorting with one copy of the sort in the wasm.
//! - `pages`: login, first-run setup, the home, the inbox, one
//!   conversation, the team (admins).

// The dashboard's views are deeply nested types; the release build of the
// hydrate wasm needs more than the default 128 levels to lay them out.
#![recursion_limit = "256"]

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, Lazy, LazyRoute, SsrMode,
};

pub mod api;
pub mod attention;
pub mod automation;
pub mod error;
pub mod json;
pub mod live;
mod pages;
pub mod protocol;
pub mod sort;
pub mod types;
pub mod upload;

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
                // Here, not as a leptos_meta `Stylesheet` in `App`: a
                // leptos_meta component in `App` (a `Stylesheet`, a `Title`)
                // breaks the lazy routes' async hydration (tachys expects a
                // marker the server never wrote); pages set their titles.
                <link id="leptos" rel="stylesheet" href="/pkg/defmis-chat.css" />
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

/// The dashboard's pages as lazy wasm chunks (`cargo leptos … --split`),
/// each fetched when one of its pages is first shown — on a first visit
/// before hydrating it (the server preloads it), later on navigation.
/// What agents use all day is a chunk per page (home, inbox,
/// conversation), so an agent's first page fetches only its own code.
/// The pages admins and account owners open now and then are three
/// groups: the team, API tokens and my account; the widget settings; canned
/// responses and the API reference. Automated responses are two: the
/// rules (with "try it"), and business hours with the log (as one group
/// they loaded 440 KB; as two, 390 and 391 KB, for 1–5 KB more on every
/// other page). Sign-in is a group of its own. Every further split cuts the code
/// the pages share into more, smaller files (one per set of splits that
/// uses a function), each gzipped alone: a chunk per page made a
/// conversation 567 KB in 181 files; the three admin groups cost every
/// agent page 8–14 KB against one admin group, and bring each admin page
/// from 466 KB to 369–379 KB (the README's "dashboard wasm" figures). The
/// main module holds the shell, the router and the frame of the signed-in
/// pages (their parent route, [`pages::Frame`], with notifications and
/// presence), so what every signed-in page shares is one file.
#[derive(Clone, Copy)]
enum Page {
    Home,
    Inbox,
    Conversation,
    Admin,
    Canned,
    Automation,
    BusinessHours,
    ResponseLog,
    Tokens,
    Settings,
    Account,
    ApiDocs,
    Login,
    Setup,
}

#[leptos::lazy]
fn home_page(_page: Page) -> AnyView {
    view! { <pages::HomePage /> }.into_any()
}

#[leptos::lazy]
fn inbox_page(_page: Page) -> AnyView {
    view! { <pages::SessionsPage /> }.into_any()
}

#[leptos::lazy]
fn conversation_page(_page: Page) -> AnyView {
    view! { <pages::ConversationPage /> }.into_any()
}

#[leptos::lazy]
fn people_pages(page: Page) -> AnyView {
    match page {
        Page::Tokens => view! { <pages::TokensPage /> }.into_any(),
        Page::Account => view! { <pages::AccountPage /> }.into_any(),
        _ => view! { <pages::AdminPage /> }.into_any(),
    }
}

#[leptos::lazy]
fn settings_page(_page: Page) -> AnyView {
    view! { <pages::SettingsPage /> }.into_any()
}

#[leptos::lazy]
fn reference_pages(page: Page) -> AnyView {
    match page {
        Page::ApiDocs => view! { <pages::ApiDocsPage /> }.into_any(),
        _ => view! { <pages::CannedPage /> }.into_any(),
    }
}

#[leptos::lazy]
fn rules_page(_page: Page) -> AnyView {
    view! { <pages::AutomationPage /> }.into_any()
}

#[leptos::lazy]
fn hours_and_log_pages(page: Page) -> AnyView {
    match page {
        Page::ResponseLog => view! { <pages::LogPage /> }.into_any(),
        _ => view! { <pages::HoursPage /> }.into_any(),
    }
}

#[leptos::lazy]
fn sign_in_pages(page: Page) -> AnyView {
    match page {
        Page::Setup => view! { <pages::SetupPage /> }.into_any(),
        _ => view! { <pages::LoginPage /> }.into_any(),
    }
}

/// A route for each page: `data` is nothing (pages fetch their own), the
/// view comes from the page's group. `preload` fetches the group's chunk
/// (`__preload_…` is what `#[lazy]` makes beside the function, in the
/// browser build): the router awaits it before hydrating or showing the
/// page, so the view is ready at once — without it hydration would find
/// the page still loading and expect the HTML of an empty view.
macro_rules! lazy_pages {
    ($($route:ident => $group:ident / $preload:ident ($page:ident)),* $(,)?) => {
        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    $group(Page::$page).await
                }

                async fn preload() {
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )*
    };
}

lazy_pages!(
    HomeRoute => home_page / __preload_home_page (Home),
    InboxRoute => inbox_page / __preload_inbox_page (Inbox),
    ConversationRoute => conversation_page / __preload_conversation_page (Conversation),
    AdminRoute => people_pages / __preload_people_pages (Admin),
    CannedRoute => reference_pages / __preload_reference_pages (Canned),
    AutomationRoute => rules_page / __preload_rules_page (Automation),
    HoursRoute => hours_and_log_pages / __preload_hours_and_log_pages (BusinessHours),
    ResponseLogRoute => hours_and_log_pages / __preload_hours_and_log_pages (ResponseLog),
    TokensRoute => people_pages / __preload_people_pages (Tokens),
    SettingsRoute => settings_page / __preload_settings_page (Settings),
    AccountRoute => people_pages / __preload_people_pages (Account),
    ApiDocsRoute => reference_pages / __preload_reference_pages (ApiDocs),
    LoginRoute => sign_in_pages / __preload_sign_in_pages (Login),
    SetupRoute => sign_in_pages / __preload_sign_in_pages (Setup),
);

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Routes fallback=pages::NotFound>
                <Route
                    path=path!("/dashboard/login")
                    view={Lazy::<LoginRoute>::new()}
                    ssr=SsrMode::Async
                />
                <Route
                    path=path!("/dashboard/setup")
                    view={Lazy::<SetupRoute>::new()}
                    ssr=SsrMode::Async
                />
                // The signed-in pages, in their frame.
                <ParentRoute path=path!("/dashboard") view=pages::Frame ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("conversations") view={Lazy::<InboxRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("conversations/:id") view={Lazy::<ConversationRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("canned") view={Lazy::<CannedRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("automation") view={Lazy::<AutomationRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("automation/hours") view={Lazy::<HoursRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("automation/log") view={Lazy::<ResponseLogRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("tokens") view={Lazy::<TokensRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("api") view={Lazy::<ApiDocsRoute>::new()} ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
