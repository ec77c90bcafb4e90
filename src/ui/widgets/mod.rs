//! Drawing helpers shared by the panes and modals: the table, the bar chart, the confirm
//! dialog. Like the panes they read state and draw; they never mutate application state or do
//! I/O.

pub mod bars;
pub mod dialog;
pub mod table;
