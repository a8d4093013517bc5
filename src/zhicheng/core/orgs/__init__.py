"""Administrative divisions (GB/T 2260), departments (条 and 块) and parties (citizens, enterprises)."""
