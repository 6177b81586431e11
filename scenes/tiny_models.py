"""Tiny, randomly initialised model pipelines built from configs: the real code paths of
`generate` at toy sizes, for tests and the GPU check (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

PROMPT_WORDS = ["<pad>", "</s>", "<unk>"] + "a the room set camera dolly slowly shot of".split()


def save_tiny_wan_vace(path: Path) -> Path:
    """Wan VACE at toy sizes, randomly initialised from configs (as diffusers' own tests build it)."""
    import torch
    from diffusers import (AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanVACEPipeline,
                           WanVACETransformer3DModel)  # fmt: skip
    from transformers import T5TokenizerFast, UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])  # fmt: skip
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(PROMPT_WORDS), d_model=32, d_kv=8, d_ff=37,
                                               num_layers=2, num_heads=4, relative_attention_num_buckets=8))  # fmt: skip
    tokenizer = T5TokenizerFast(vocab=[(w, 0.0) for w in PROMPT_WORDS], pad_token="<pad>",
                                eos_token="</s>", unk_token="<unk>", extra_ids=0)  # fmt: skip
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=1024, vace_layers=[0, 2],
        vace_in_channels=96,
    )  # fmt: skip
    # rope_max_seq_len is Wan's own 1024: diffusers' tests use 32, which a 121-frame clip
    # (31 latent frames and its reference frames) or an 832-wide one (52 patches) outgrows
    WanVACEPipeline(transformer=transformer, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                    scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0)).save_pretrained(path)  # fmt: skip
    return path
