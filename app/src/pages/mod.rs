//! The dashboard's pages and the pieces they share.

use leptos::ev;
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::api::Logout;
use crate::attention::Attention;
use crate::live::LiveState;
use crate::pages::events::handle;
use crate::types::ApiError;
use leptos_meta::Title;

mod account;
mod admin;
mod api_docs;
mod auth;
mod automation;
mod canned;
mod conversation;
mod customer_panel;
mod events;
mod fields;
mod home;
mod html;
mod keys;
mod list;
mod sessions;
mod settings;
mod tokens;

pub use account::AccountPage;
pub use admin::AdminPage;
pub use api_docs::ApiDocsPage;
pub use auth::{LoginPage, SetupPage};
pub use automation::{AutomationPage, HoursPage, LogPage};
pub use canned::CannedPage;
pub use conversation::ConversationPage;
pub use home::HomePage;
pub use sessions::SessionsPage;
pub use settings::SettingsPage;
pub use tokens::TokensPage;

/// A password input bound to `value`. `new`: a password being set (at
/// least 10 characters, and browsers offer to generate one); otherwise
/// the current one (browsers offer the saved one).
#[component]
fn PasswordField(
    #[prop(into)] label: String,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] new: bool,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type="password"
                name=name
                required
                minlength=new.then_some("10")
                autocomplete=if new { "new-password" } else { "current-password" }
                prop:value=move || value.get()
                on:input={handle(ev::input, move |ev| value.set(event_target_value(&ev)))}
            />
        </label>
    }
}

/// The frame of every signed-in page: brand, navigation, sign-out, and
/// the page (the router's outlet). The parent route of the signed-in
/// pages: it stays while an agent moves between them, and its code (with
/// what every page shares: notifications, presence, reading JSON)
/// is in the main module, one file, rather than in chunks each page fetches.
#[component]
pub fn Frame() -> impl IntoView {
    let attention = Attention::provide();
    let logout = <Logout as server_fn::ServerFn>::PATH;
    view! {
        <Title text=move || crate::attention::title(attention.unread.get()) />
        <header class="topbar">
            <A href="/dashboard" attr:class="brand">
                "DEFMIS Chat"
            </A>
            <nav>
                <A href="/dashboard" exact=true>
                    "Home"
                </A>
                <A href=sessions::INBOX>"Conversations"</A>
                <A href="/dashboard/canned">"Canned"</A>
                <A href="/dashboard/automation">"Automation"</A>
                <A href="/dashboard/settings">"Widget"</A>
                <A href="/dashboard/admin">"Team"</A>
                <A href="/dashboard/tokens">"Tokens"</A>
                <A href="/dashboard/api">"API"</A>
                <A href="/dashboard/account">"Account"</A>
            </nav>
            {move || attention.permission.get().is_none().then(|| view! {
                <button
                    type="button"
                    class="link notify-toggle"
                    on:click={handle(ev::click, move |_| attention.ask_permission())}
                >
                    "Turn on notifications"
                </button>
            })}
            // A plain form: signing out leaves the page anyway (the server
            // answers with a redirect to the sign-in page), and an
            // `ActionForm` would put a form decoder into every page's wasm.
            <form method="post" action=logout class="logout">
                <button type="submit" class="link">
                    "Sign out"
                </button>
            </form>
        </header>
        <main class="content">
            <Outlet />
        </main>
    }
}

// The two below are plain functions, not components: a component's view
// is erased into an `AnyView` (`--cfg erase_components`), which puts its
// own build and hydration code into the wasm; these are small and used on
// many pages.

/// The live connection's state, for the agent to trust what they see.
fn live_badge(state: RwSignal<LiveState>) -> impl IntoView {
    view! {
        <span class="live-badge" data-state=move || state.get().as_str()>
            {move || state.get().label()}
        </span>
    }
}

/// An error from a server function; offers the way to sign in when that is
/// what is missing.
fn error_box(error: ApiError) -> impl IntoView {
    let unauthorized = error.is_unauthorized();
    view! {
        <div class="error" role="alert">
            <span>{error.message}</span>
            {unauthorized.then(|| view! { <a href="/dashboard/login">" Sign in"</a> })}
        </div>
    }
}

/// A line of text that shows while `text` holds some: an error (`error`,
/// announced at once) or a notice (`notice`). The line stays in the page,
/// hidden when empty, so every page shares this one view.
fn status_line(class: &'static str, text: RwSignal<Option<String>>) -> impl IntoView {
    let role = if class == "error" { "alert" } else { "status" };
    view! {
        <p class=class role=role hidden=move || text.with(Option::is_none)>
            {move || text.get()}
        </p>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="content narrow">
            <h1>"Page not found"</h1>
            <p>
                <a href="/dashboard">"Back to the dashboard"</a>
            </p>
        </main>
    }
}
