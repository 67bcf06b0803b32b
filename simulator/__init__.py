"""Exchange simulator: real venue wire formats on loopback, driven by a seeded random walk."""
