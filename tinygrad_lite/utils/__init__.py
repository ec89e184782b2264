"""``tl.utils``: torch's ``torch.utils`` namespace."""
