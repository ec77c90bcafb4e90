//! The application core: the state the UI renders (datasets with their freshness, pane models
//! with their rows), the actions keys map to, the modal stack, the background worker that runs
//! the refresh jobs, the terminal's safety, and the event loop (which hands the state to the
//! UI's view). Nothing here draws: `ui` reads the state, `app` owns it. Depends on `cluster`,
//! never on `ui` or `broker` (except the bundled broker's lock file).

pub mod action;
pub mod bundled;
pub mod changes;
pub mod columns;
pub mod keymap;
pub mod lag_monitor;
pub mod modal;
pub mod panes;
pub mod run;
pub mod state;
pub mod terminal;
pub mod worker;
