//! Captures: reading pcap/pcapng files and decoding their packets.

pub mod decode;
pub mod engine;
pub mod live;
pub mod pipeline;
pub mod reader;
pub mod writer;

pub use decode::{decode, decode_into};
pub use reader::{
    read_frames, read_frames_partial, Flow, Format, Frame, ReadError, ReadSummary, Timestamp,
};
