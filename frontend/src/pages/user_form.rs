//! Create a user (`/users/new`) and edit one (`/users/:id/edit`).

use leptos::prelude::*;

#[component]
pub fn CreateUserPage() -> impl IntoView {
    view! { <h1>"New user"</h1> }
}

#[component]
pub fn EditUserPage() -> impl IntoView {
    view! { <h1>"Edit user"</h1> }
}
