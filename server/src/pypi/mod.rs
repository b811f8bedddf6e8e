//! PyPI: pip-compile requirements files (pins and their `# via` graph) and the package index
//! the pinned distributions are downloaded from (PEP 691 JSON, hash-checked).

pub mod index;
pub mod metadata;
pub mod requirements;

pub use index::{PackageIndex, PYPI_SIMPLE};
pub use requirements::Requirements;
