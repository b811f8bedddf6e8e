//! The scanner's integration tests, as one test binary: the command line as CI runs it,
//! rule cases (each also scanned through the prefilter, as real scans are) and the
//! end-to-end scans of the epic's fixtures.

mod api_index;
mod cli;
mod epic;
mod fixes;
mod imports;
mod rules;
