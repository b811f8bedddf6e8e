//! Writing what was read (requirements files, scans) into PostgreSQL, each in one
//! transaction, so that a failure leaves the database as it was.

pub mod archive;
pub mod owners;
pub mod requirements;
pub mod sarif;
pub mod scan;
