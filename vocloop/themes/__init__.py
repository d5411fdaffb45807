"""Themes that find themselves: grouping comments by what they are about, without labels."""
