//! A maintainer's triage of a finding (open, confirmed, false positive, won't fix, with a
//! reason), as a plain form; an island once the browser runs it.

use leptos::{form::ActionForm, prelude::*};

use super::ui::{error_text, Alert, BUTTON, INPUT};

#[server(prefix = "/api", endpoint = "triage")]
pub async fn triage(id: String, state: String, reason: Option<String>) -> Result<(), ServerFnError> {
    use db::models::triage::set;
    let user = crate::server::require_maintainer().await?;
    let app = crate::server::state()?;
    let id = crate::server::parse_id(&id)?;
    let state: db::kinds::Triage = state.trim().parse().map_err(crate::error::AppError::unprocessable)?;
    set(&app.pool, &user, id, state, reason.as_deref()).await.map_err(crate::error::AppError::from)?;
    crate::server::changed();
    Ok(())
}

#[island]
pub fn TriageForm(id: i64, current: String, reason: Option<String>) -> impl IntoView {
    let action = ServerAction::<Triage>::new();
    // Show the page as it is now after a change went through (a refusal keeps the form and
    // its message as they are).
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            crate::live::refresh_page();
        }
    });
    let options =
        [("open", "Open"), ("confirmed", "Confirmed"), ("false_positive", "False positive"), ("wont_fix", "Won't fix")];
    view! {
        <ActionForm action=action attr:class="space-y-2" attr:data-testid="triage-form">
            <input type="hidden" name="id" value=id.to_string() />
            <div class="flex flex-wrap items-center gap-2">
                <label class="text-sm" for="triage-state">"Triage"</label>
                <select id="triage-state" name="state" class=INPUT data-testid="triage-state">
                    {options.into_iter().map(|(value, label)| view! {
                        <option value=value selected=current == value>{label}</option>
                    }).collect_view()}
                </select>
                <label class="sr-only" for="triage-reason">"Reason"</label>
                <input id="triage-reason" name="reason" maxlength="2000" value=reason.unwrap_or_default()
                    placeholder="reason (required for false positive / won't fix)" class=format!("{INPUT} min-w-72 flex-1")
                    data-testid="triage-reason" />
                <button type="submit" class=BUTTON data-testid="triage-submit">"Save triage"</button>
            </div>
            {move || action.value().get().filter(|_| action.version().get() > 0).and_then(|r| r.err()).map(|e| view! { <Alert message=error_text(&e) /> })}
        </ActionForm>
    }
}
