//! `dcc-gateway` binary: parse the command line, run the command. All logic lives in the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    dcc_gateway::cli::run(dcc_gateway::cli::Cli::parse())
}
