"""File formats. One module per outside library: `video` (imageio), `ply` (plyfile)."""
