//! The block log on disk: `blocks.log` holds `[u32 LE length][packed BlockRecord]` frames,
//! appended per block; only a fork test control truncates it (reversible blocks). A torn last
//! frame (crash mid-write) is cut off on open. `chain_id` guards against mixing chains.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chain::bytes::{Pack, Unpack};
use chain::Checksum256;

use crate::block::BlockRecord;

/// Appends and reads block records.
#[derive(Debug)]
pub struct BlockLog {
    path: PathBuf,
    file: File,
    /// Frame offset of block `i + 1`.
    offsets: Vec<u64>,
    end: u64,
}

impl BlockLog {
    /// Opens (or creates) the log in `dir` for `chain_id`; returns it with every stored record.
    pub fn open(
        dir: &Path,
        chain_id: &Checksum256,
    ) -> anyhow::Result<(BlockLog, Vec<BlockRecord>)> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let id_path = dir.join("chain_id");
        match std::fs::read_to_string(&id_path) {
            Ok(text) if text.trim() == chain_id.to_string() => {}
            Ok(text) => bail!(
                "{} belongs to chain {}, not {chain_id}",
                dir.display(),
                text.trim()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::write(&id_path, chain_id.to_string())
                    .with_context(|| format!("write {}", id_path.display()))?;
            }
            Err(e) => return Err(e).with_context(|| format!("read {}", id_path.display())),
        }
        let path = dir.join("blocks.log");
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .with_context(|| format!("read {}", path.display()))?;
        let mut offsets = Vec::new();
        let mut records = Vec::new();
        let mut pos = 0usize;
        while pos + 4 <= data.len() {
            let len = u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]])
                as usize;
            let Some(frame) = data.get(pos + 4..pos + 4 + len) else {
                break;
            };
            let Ok(record) = BlockRecord::unpacked(frame) else {
                break;
            };
            offsets.push(pos as u64);
            records.push(record);
            pos += 4 + len;
        }
        if pos < data.len() {
            tracing::warn!(path = %path.display(), kept = pos, dropped = data.len() - pos, "Cutting a torn tail off the block log");
            file.set_len(pos as u64)
                .with_context(|| format!("truncate {}", path.display()))?;
        }
        Ok((
            BlockLog {
                path,
                file,
                offsets,
                end: pos as u64,
            },
            records,
        ))
    }

    pub fn len(&self) -> u32 {
        self.offsets.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    pub fn append(&mut self, record: &BlockRecord) -> anyhow::Result<()> {
        if record.block_num != self.len() + 1 {
            bail!(
                "block log: appending block {} after {}",
                record.block_num,
                self.len()
            );
        }
        let body = record.packed();
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
        frame.extend_from_slice(&body);
        self.file
            .write_all(&frame)
            .with_context(|| format!("append to {}", self.path.display()))?;
        self.offsets.push(self.end);
        self.end += frame.len() as u64;
        Ok(())
    }

    /// Flushes to stable storage.
    pub fn sync(&self) -> anyhow::Result<()> {
        self.file
            .sync_data()
            .with_context(|| format!("sync {}", self.path.display()))
    }

    pub fn read(&self, block_num: u32) -> anyhow::Result<BlockRecord> {
        let i = block_num
            .checked_sub(1)
            .map(|i| i as usize)
            .filter(|i| *i < self.offsets.len())
            .with_context(|| format!("block {block_num} is not in the log"))?;
        let start = self.offsets[i];
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.end);
        let mut buf = vec![0u8; (end - start) as usize];
        self.file
            .read_exact_at(&mut buf, start)
            .with_context(|| format!("read block {block_num}"))?;
        BlockRecord::unpacked(buf.get(4..).unwrap_or_default())
            .with_context(|| format!("decode block {block_num}"))
    }

    /// Drops every block from `block_num` on.
    pub fn truncate_from(&mut self, block_num: u32) -> anyhow::Result<()> {
        let i = block_num.saturating_sub(1) as usize;
        if i >= self.offsets.len() {
            return Ok(());
        }
        let at = self.offsets[i];
        self.file
            .set_len(at)
            .with_context(|| format!("truncate {}", self.path.display()))?;
        self.offsets.truncate(i);
        self.end = at;
        Ok(())
    }
}
