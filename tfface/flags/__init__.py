"""absl flag definitions of the programs, one module per concern. Import a module to define its flags."""
