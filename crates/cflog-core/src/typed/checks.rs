//! The checks of the values a [`Layout`](super::Layout) reads but does not
//! hand on (see [`Layout::only`](super::Layout::only)).
//!
//! A check is the typed read of the value itself, [`read_kind`] or
//! [`item_value`], with the value dropped: it fails exactly where
//! the read fails, so an encoder that is handed only some keys rejects the
//! same entries as one that is handed them all (and as the JSON writer).
//! What a check saves is the walk: no key, no encoder call, and no check at
//! all for text, which every read accepts.
//!
//! The checks are sorted by kind, so that consecutive checks take the same
//! branch of the read's `match`, which a branch predictor then sees as one
//! pattern instead of one jump per column.

use super::Step;
use crate::contract::{Check, DerivedValues, Item, item_value, read_kind};
use crate::field::{Field, ValueKind};
use crate::kind::is_word;
use crate::line::{LogLine, Value};

/// The checks of one schema's values that are not handed on.
#[derive(Clone, Debug, Default)]
pub(super) struct Checks {
    /// Columns read by their kind, sorted by kind.
    columns: Vec<(usize, Field, ValueKind)>,
    /// Items that need the whole line (the request time, above all).
    items: Vec<Item>,
}

impl Checks {
    /// The checks of `steps`, those that can fail.
    pub(super) fn new<'s>(steps: impl Iterator<Item = &'s Step>) -> Checks {
        let mut checks = Checks::default();
        for step in steps {
            match *step {
                // Text is read as it is: it never fails.
                Step::Column {
                    kind: ValueKind::Text,
                    ..
                }
                | Step::Missing
                | Step::Extra { .. }
                | Step::Item(Item::QueryParams | Item::Extra(_) | Item::Derived(_)) => {}
                Step::Item(Item::Field(field)) if field.kind() == ValueKind::Text => {}
                Step::Column { col, field, kind } => checks.columns.push((col, field, kind)),
                Step::Timestamp => checks.items.push(Item::Timestamp),
                Step::Item(item) => checks.items.push(item),
            }
        }
        checks.columns.sort_by_key(|&(_, _, kind)| kind as u8);
        checks
    }

    /// Whether every value checked reads by its kind. Inlined into the
    /// walk, its one caller, as it was before the contract's module (the
    /// compiler stopped doing so by itself).
    #[inline(always)]
    pub(super) fn pass<'a>(&self, line: &LogLine<'a>, values: &'a DerivedValues) -> bool {
        // Loops rather than `Iterator::all`, whose closure the compiler
        // keeps out of line.
        for &(col, field, kind) in &self.columns {
            let value = line.column(col).and_then(Value::new);
            // A word is read as UTF-8, which ASCII always is: the common
            // case then skips the general check (as the JSON writer does).
            if is_word(kind) && value.is_some_and(|value| value.raw().is_ascii()) {
                continue;
            }
            if read_kind(line, field, kind, value, Check).is_err() {
                return false;
            }
        }
        for &item in &self.items {
            if item_value(item, line, values).is_err() {
                return false;
            }
        }
        true
    }
}
