//! A unit of storage (pure): consecutive blocks written in one database transaction together
//! with the checkpoint, optionally preceded by undoing a fork.

use std::collections::HashMap;

use chain::Name;

use crate::extract::{BlockData, RowRecord};

/// Blocks waiting to be committed.
#[derive(Debug, Default)]
pub struct Batch {
    /// Undo everything stored from this block on before storing `blocks`.
    pub rollback_from: Option<u32>,
    pub blocks: Vec<BlockData>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.rollback_from.is_none()
    }

    pub fn push(&mut self, block: BlockData) {
        self.blocks.push(block);
    }

    /// A fork from `from_block_num`: drops the uncommitted blocks it replaces and, when it reaches
    /// committed blocks (at or below `committed`), schedules their undo.
    pub fn fork(&mut self, from_block_num: u32, committed: Option<u32>) {
        self.blocks.retain(|b| b.block_num < from_block_num);
        if committed.is_some_and(|c| from_block_num <= c) {
            self.rollback_from = Some(
                self.rollback_from
                    .map_or(from_block_num, |r| r.min(from_block_num)),
            );
        }
    }

    pub fn last(&self) -> Option<&BlockData> {
        self.blocks.last()
    }

    pub fn n_actions(&self) -> usize {
        self.blocks.iter().map(|b| b.actions.len()).sum()
    }

    pub fn n_rows(&self) -> usize {
        self.blocks.iter().map(|b| b.rows.len()).sum()
    }

    /// The final state of every row the batch touches, in first-touched order, with the block
    /// that set it (current-state upserts must name each key once per statement).
    pub fn final_rows(&self) -> Vec<(u32, &RowRecord)> {
        let mut index: HashMap<(Name, Name, Name, u64), usize> = HashMap::new();
        let mut out: Vec<(u32, &RowRecord)> = Vec::new();
        for block in &self.blocks {
            for row in &block.rows {
                match index.get(&row.key()) {
                    Some(&i) => out[i] = (block.block_num, row),
                    None => {
                        index.insert(row.key(), out.len());
                        out.push((block.block_num, row));
                    }
                }
            }
        }
        out
    }

    /// The blocks whose positions must be kept for `have_positions`: reversible ones (at or above
    /// the last LIB the batch saw) and always the last one (the checkpoint).
    pub fn positions_to_keep(&self) -> Vec<(u32, chain::Checksum256)> {
        let lib = self.last().map_or(0, |b| b.last_irreversible);
        let n = self.blocks.len();
        self.blocks
            .iter()
            .enumerate()
            .filter(|(i, b)| b.block_num >= lib || *i + 1 == n)
            .map(|(_, b)| (b.block_num, b.block_id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::Checksum256;

    fn block(num: u32, lib: u32, rows: Vec<RowRecord>) -> BlockData {
        BlockData {
            block_num: num,
            block_id: Checksum256::sha256(num.to_be_bytes()),
            timestamp_us: 0,
            head: num,
            last_irreversible: lib,
            actions: Vec::new(),
            rows,
            abis: Vec::new(),
        }
    }

    fn row(pk: u64, present: bool) -> RowRecord {
        let n = |s: &str| Name::parse(s).unwrap();
        RowRecord {
            code: n("soviet"),
            scope: n("voskhod"),
            table: n("decisions"),
            primary_key: pk,
            present,
            payer: n("soviet"),
            data: vec![pk as u8],
            json: None,
        }
    }

    #[test]
    fn final_rows_keep_the_last_change_of_each_key() {
        let mut b = Batch::default();
        b.push(block(1, 0, vec![row(1, true), row(2, true)]));
        b.push(block(2, 0, vec![row(1, false)]));
        let f = b.final_rows();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].0, f[0].1.present), (2, false));
        assert_eq!((f[1].0, f[1].1.present), (1, true));
    }

    #[test]
    fn forks_drop_uncommitted_blocks_and_schedule_undo_of_committed_ones() {
        let mut b = Batch::default();
        for n in 11..=14 {
            b.push(block(n, 9, Vec::new()));
        }
        b.fork(13, Some(10));
        assert_eq!(b.blocks.len(), 2);
        assert_eq!(
            b.rollback_from, None,
            "only uncommitted blocks were replaced"
        );
        b.fork(8, Some(10));
        assert!(b.blocks.is_empty());
        assert_eq!(b.rollback_from, Some(8));
        b.fork(9, Some(10));
        assert_eq!(b.rollback_from, Some(8), "the lowest fork point wins");
    }

    #[test]
    fn positions_cover_the_reversible_blocks_and_the_checkpoint() {
        let mut b = Batch::default();
        for n in 1..=5 {
            b.push(block(n, 4, Vec::new()));
        }
        let kept: Vec<u32> = b.positions_to_keep().iter().map(|p| p.0).collect();
        assert_eq!(kept, vec![4, 5]);
        let mut c = Batch::default();
        for n in 1..=5 {
            c.push(block(n, 100, Vec::new()));
        }
        let kept: Vec<u32> = c.positions_to_keep().iter().map(|p| p.0).collect();
        assert_eq!(kept, vec![5]);
    }
}
