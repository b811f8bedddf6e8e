//! One module per page; each keeps its server functions next to the components using them.

mod not_found;
pub mod overview;

pub use not_found::NotFound;
pub use overview::{get_overview, Overview, OverviewPage};
