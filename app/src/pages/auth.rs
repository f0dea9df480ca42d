//! Sign-in and the first-run setup of the first admin.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{setup_needed, CompleteSetup, Login};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || {
        login
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.message}</p> })
    };
    view! {
        <Title text="DEFMIS Chat" />
        <main class="content narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=login attr:class="stack">
                <label>
                    "Username" <input type="text" name="username" autocomplete="username" required />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <button type="submit" class="primary">
                    "Sign in"
                </button>
            </ActionForm>
            {error}
        </main>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let needed = crate::json::resource(|| (), |_| setup_needed());
    let setup = ServerAction::<CompleteSetup>::new();
    let error = move || {
        setup
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.message}</p> })
    };
    view! {
        <Title text="DEFMIS Chat" />
        <main class="content narrow">
            <h1>"Create the first admin"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match needed.await {
                        Ok(true) => {
                            view! {
                                <ActionForm action=setup attr:class="stack">
                                    <input type="hidden" name="token" value=token />
                                    <label>
                                        "Username"
                                        <input type="text" name="username" autocomplete="username" required />
                                    </label>
                                    <label>
                                        "Password (at least 10 characters)"
                                        <input
                                            type="password"
                                            name="password"
                                            autocomplete="new-password"
                                            minlength="10"
                                            required
                                        />
                                    </label>
                                    <label>
                                        "Password again"
                                        <input
                                            type="password"
                                            name="password_confirm"
                                            autocomplete="new-password"
                                            required
                                        />
                                    </label>
                                    <button type="submit" class="primary">
                                        "Create admin"
                                    </button>
                                </ActionForm>
                            }
                                .into_any()
                        }
                        Ok(false) => {
                            view! {
                                <p>
                                    "Setup is done. " <a href="/dashboard/login">"Sign in"</a>
                                </p>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {error}
        </main>
    }
}
