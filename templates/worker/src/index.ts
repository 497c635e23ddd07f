export { default } from "tokengate/worker";
