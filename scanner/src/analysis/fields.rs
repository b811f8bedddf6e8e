//! Field ids of the Python grammar, looked up once: `child_by_field_name` compares strings
//! against every field name on each call, which showed up in profiles.

use std::{num::NonZeroU16, sync::OnceLock};

macro_rules! field_ids {
    ($($name:ident),*) => {
        struct Ids { $($name: NonZeroU16),* }

        fn ids() -> &'static Ids {
            static IDS: OnceLock<Ids> = OnceLock::new();
            IDS.get_or_init(|| {
                let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
                Ids { $($name: language.field_id_for_name(stringify!($name)).expect(concat!("the Python grammar has field ", stringify!($name)))),* }
            })
        }

        $(pub fn $name() -> u16 { ids().$name.get() })*
    };
}

/// The `name` field as the id type `children_by_field_id` takes.
pub fn name_id() -> NonZeroU16 {
    ids().name
}

field_ids!(
    alias,
    arguments,
    attribute,
    body,
    function,
    left,
    module_name,
    name,
    object,
    parameters,
    right,
    superclasses,
    value
);
