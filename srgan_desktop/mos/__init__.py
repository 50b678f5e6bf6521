"""Qt-free MOS studies: design, randomization, SQLite storage, statistics, export."""
