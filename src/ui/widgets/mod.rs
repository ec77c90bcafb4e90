//! Drawing helpers shared by the panes. Like the panes they read state and draw; they never
//! mutate application state or do I/O.

pub mod bars;
pub mod table;
