//! Findings as a table: rule, where, code, state and owner, each row linking to its page.
//! Below the `md` breakpoint the rows become cards (each cell on its own line, labelled),
//! so a phone never scrolls sideways: `.finding-cards` in `style/main.css`.

use db::kinds::FindingState;
use leptos::prelude::*;

use super::ui::{target_href, StateBadge, LINK};
use db::views::FindingRow;

#[component]
pub fn FindingTable(
    rows: Vec<FindingRow>,
    /// Leave the target column out (on a target's own page).
    #[prop(optional)]
    hide_target: bool,
) -> impl IntoView {
    view! {
        <div class="md:overflow-x-auto">
            <table class="block w-full text-sm md:table" data-testid="finding-table">
                <thead class="sr-only md:not-sr-only md:table-header-group">
                    <tr class="text-left">
                        <th scope="col" class="py-2 pr-3">"Rule"</th>
                        {(!hide_target).then(|| view! { <th scope="col" class="py-2 pr-3">"Target"</th> })}
                        <th scope="col" class="py-2 pr-3">"Where"</th>
                        <th scope="col" class="py-2 pr-3">"Code"</th>
                        <th scope="col" class="py-2 pr-3">"State"</th>
                        <th scope="col" class="py-2 pr-3">"Owner"</th>
                    </tr>
                </thead>
                <tbody class="finding-cards block md:table-row-group">
                    {rows.into_iter().map(|f| {
                        view! {
                            <tr data-testid="finding-row" data-finding-id=f.id.to_string()>
                                <td data-label="Rule"><a class=LINK href=format!("/findings/{}", f.id) aria-label=format!("Finding {} ({})", f.id, f.rule)>{f.rule.clone()}</a></td>
                                {(!hide_target).then(|| view! {
                                    <td class="break-all font-mono text-xs" data-label="Target"><a class=LINK href=target_href(&f.target, f.target_kind)>{f.target.clone()}</a></td>
                                })}
                                <td class="break-all font-mono text-xs" data-label="Where">
                                    {format!("{}:{}", f.path, f.line)}
                                    {f.symbol.clone().map(|s| view! { <br /><span class="text-slate-500">{s}</span> })}
                                </td>
                                <td class="max-w-full truncate md:max-w-md" data-label="Code"><code class="text-xs">{f.snippet.clone().unwrap_or_default()}</code></td>
                                <td data-label="State"><StateBadge state=f.state.map_or("gone", FindingState::as_str).to_owned() /></td>
                                <td data-label="Owner" data-testid="finding-owner">
                                    {match f.owner.clone() {
                                        Some(owner) => view! {
                                            <a class=LINK href=format!("/people/{owner}")>{owner.clone()}</a>
                                            {f.owner_simulated.then_some(" (simulated)")}
                                        }.into_any(),
                                        None => view! { <span class="text-slate-500">"unowned"</span> }.into_any(),
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
