"""python train.py [experiment=NAME] [overrides...]: see README.md and configs/."""

from stn.train import main

if __name__ == "__main__":
    main()
