"""absl flag definitions, one module per concern. Import a module to define its flags."""
