//! The findings' search texts held in memory, for the explorer's text search.
//!
//! A text that most findings hold (`mod`, `local`, one or two letters: no trigram narrows
//! those) costs the database a pass over every finding — its text matched row by row, then
//! grouped for the counts: 50 ms at 100,000 findings, and under load every new such text
//! queues behind the others. In memory the same match is one vectorised substring search
//! over all the texts (6 MB there: about a millisecond), and the counts need only one row per
//! group of findings the counts cannot tell apart.
//!
//! [`FindingTexts::load`] reads a consistent snapshot; [`FindingTexts::find`] answers which
//! findings hold a text, as their ids (for the page) and as weighted groups (for the counts:
//! `findings::explore`). The holder keeps one per change (the read cache's generation), so
//! an answer from it is as current as any cached answer.

use sqlx::PgPool;

/// Every finding's search text (`findings.search_text`: its path, symbol and snippet joined
/// by line breaks, lower-cased), in id order, with the group each finding counts in.
#[derive(Debug, Default)]
pub struct FindingTexts {
    /// The texts one after another, each followed by a NUL (which no PostgreSQL text holds,
    /// so no match spans two findings).
    text: Vec<u8>,
    /// Where each finding's text starts in `text`, and one more: the end.
    starts: Vec<u32>,
    /// The findings' ids, ascending.
    ids: Vec<i64>,
    /// Each finding's group, an index into `representatives`.
    groups: Vec<u32>,
    /// One finding of each group: the smallest id.
    representatives: Vec<i64>,
}

/// The findings a text matches.
#[derive(Debug, Default, PartialEq)]
pub struct TextMatches {
    /// Their ids, ascending.
    pub ids: Vec<i64>,
    /// Their groups: a representative finding's id and how many of them are in its group.
    pub groups: Vec<(i64, i64)>,
}

/// What the explorer's counts read of a finding (`findings::facets`) and every condition of
/// its filters that is not a facet (`findings::push_scope_where`: state, target, team,
/// triage, filed), as columns of `finding_search f`. Findings equal in all of these are
/// counted alike by every filter and facet, so each group is counted through one of its
/// findings, weighted by how many matched. A column those statements start reading must be
/// added here and to [`GroupKey`] (the explorer's tests compare both ways of counting).
const GROUP_COLUMNS: &str = "f.rule, f.target_id, f.path, f.in_tests, f.owner_id, f.runs_at, f.runs_at_via, f.triage, \
     finding_state(f.rule, f.fixed_in_scan, f.triage) AS state";

/// A finding as read: its id, its text, and what its group is told by ([`GROUP_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    search_text: Option<String>,
    #[sqlx(flatten)]
    key: GroupKey,
}

#[derive(sqlx::FromRow, PartialEq, Eq, Hash)]
struct GroupKey {
    rule: String,
    target_id: i64,
    path: String,
    in_tests: Option<bool>,
    owner_id: Option<i64>,
    runs_at: Option<String>,
    runs_at_via: Option<String>,
    triage: String,
    state: Option<String>,
    filed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the findings' search texts are over {} bytes, more than an in-memory index holds", u32::MAX)]
    TooLarge,
}

impl FindingTexts {
    /// Reads every finding's search text and group, in one statement (one snapshot of the
    /// database). Grouped here rather than by the database: its grouping of 100,000 rows by
    /// these text columns took longer than reading them all.
    pub async fn load(pool: &PgPool) -> Result<Self, LoadError> {
        // Built at run time from `GROUP_COLUMNS` and `findings::FILED`, the definitions it
        // must agree with.
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT f.id, f.search_text, {GROUP_COLUMNS}, {} AS filed FROM finding_search f ORDER BY f.id",
            super::findings::FILED
        ))
        .fetch_all(pool)
        .await?;
        let mut texts = FindingTexts {
            starts: Vec::with_capacity(rows.len() + 1),
            ids: Vec::with_capacity(rows.len()),
            groups: Vec::with_capacity(rows.len()),
            ..Default::default()
        };
        let mut group_of = std::collections::HashMap::new();
        for row in rows {
            texts.starts.push(u32::try_from(texts.text.len()).map_err(|_| LoadError::TooLarge)?);
            texts.text.extend_from_slice(row.search_text.as_deref().unwrap_or_default().as_bytes());
            texts.text.push(0);
            texts.ids.push(row.id);
            // In id order: a group's first finding is its smallest id.
            let next = texts.representatives.len() as u32;
            let group = *group_of.entry(row.key).or_insert(next);
            if group == next {
                texts.representatives.push(row.id);
            }
            texts.groups.push(group);
        }
        texts.starts.push(u32::try_from(texts.text.len()).map_err(|_| LoadError::TooLarge)?);
        Ok(texts)
    }

    /// How many findings are held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The bytes held, about.
    pub fn bytes(&self) -> usize {
        self.text.len()
            + self.starts.len() * 4
            + self.ids.len() * 8
            + self.groups.len() * 4
            + self.representatives.len() * 8
    }

    /// The findings whose search text contains `pattern` (already lower-cased, as the stored
    /// texts are: `findings::search_pattern`), as `LIKE '%pattern%'` finds them.
    pub fn find(&self, pattern: &str) -> TextMatches {
        let mut matches = TextMatches::default();
        // No stored text holds a NUL: a pattern with one matches nothing (and would otherwise
        // match across two findings' texts).
        if pattern.is_empty() || pattern.contains('\0') {
            return matches;
        }
        let finder = memchr::memmem::Finder::new(pattern.as_bytes());
        let mut counts = vec![0i64; self.representatives.len()];
        let (mut from, mut finding) = (0usize, 0usize);
        while let Some(at) = finder.find(&self.text[from..]) {
            let at = from + at;
            // The finding whose text holds `at`: matches come in order, so the search for it
            // starts from the last one (most often it is that one, when most findings match).
            if self.starts[finding + 1] as usize <= at {
                finding += self.starts[finding..].partition_point(|&start| start as usize <= at) - 1;
            }
            matches.ids.push(self.ids[finding]);
            counts[self.groups[finding] as usize] += 1;
            // One match per finding: go on from the next one's text.
            finding += 1;
            from = self.starts[finding] as usize;
        }
        matches.groups = counts
            .into_iter()
            .zip(&self.representatives)
            .filter(|(n, _)| *n > 0)
            .map(|(n, &representative)| (representative, n))
            .collect();
        matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(items: &[(i64, &str, u32)], representatives: Vec<i64>) -> FindingTexts {
        let mut texts = FindingTexts { representatives, ..Default::default() };
        for (id, text, group) in items {
            texts.starts.push(texts.text.len() as u32);
            texts.text.extend_from_slice(text.as_bytes());
            texts.text.push(0);
            texts.ids.push(*id);
            texts.groups.push(*group);
        }
        texts.starts.push(texts.text.len() as u32);
        texts
    }

    #[test]
    fn a_text_matches_each_finding_holding_it_once_and_never_across_two() {
        let texts =
            texts(&[(3, "pkg/a.py\nf\naa aa", 0), (5, "", 1), (8, "pkg/b.py\ng\nx = 1", 0), (9, "aa", 1)], vec![3, 5]);
        let found = texts.find("aa");
        assert_eq!(found.ids, [3, 9], "twice in 3, counted once; 9 at the very end");
        assert_eq!(found.groups, [(3, 1), (5, 1)]);
        assert_eq!(texts.find("pkg/").groups, [(3, 2)]);
        // "aa" ends 3's text and "pkg" starts 8's, but no match joins two texts.
        assert!(texts.find("aapkg").ids.is_empty());
        assert!(texts.find("aa\0pkg").ids.is_empty());
        assert!(texts.find("1\0aa").ids.is_empty());
        assert_eq!(texts.find("x = 1").ids, [8]);
        assert!(texts.find("").ids.is_empty());
        assert_eq!(FindingTexts::default().find("a"), TextMatches::default());
    }
}
